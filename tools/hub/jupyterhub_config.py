"""A JupyterHub for one class taking the course, on one machine (docs/jupyterhub.md).

    sudo /opt/aiecourse-hub/venv/bin/jupyterhub -f tools/hub/jupyterhub_config.py

Each user is a system user (``useradd -m``); the hub runs as root and starts each user's JupyterLab as
that user (the local process spawner). nbgrader's exchange is a folder on this machine that every
user can write. tests/test_hub.py runs this very file on loopback. Settings come from the environment
(defaults in brackets):

    AIECOURSE_HUB_VENV       [/opt/aiecourse-hub/venv] the environment tools/hub/setup.sh builds
    AIECOURSE_HUB_STATE      [/srv/aiecourse-hub]      the hub's database and cookie secret (root only)
    AIECOURSE_HUB_JUPYTER    [jupyter/ beside this file] the Jupyter config of each role: shared/,
                             instructor/, student/ (must be readable by every user: copy it to
                             /etc/aiecourse-hub/jupyter if this checkout is not)
    AIECOURSE_EXCHANGE       [/srv/nbgrader/exchange]  nbgrader's exchange (read by shared/nbgrader_config.py)
    AIECOURSE_INSTRUCTORS    comma-separated user names that get the formgrader
    AIECOURSE_STUDENTS       comma-separated user names; with the instructors, the only users allowed
    AIECOURSE_HUB_IP, _PORT  [127.0.0.1, 8000] where the hub listens (put TLS in front of it for a class)
    AIECOURSE_HUB_PROXY      [.hub/node_modules/.bin/configurable-http-proxy in this checkout]
    AIECOURSE_HUB_PASSWORD   when set: one shared password for every user (a workshop, or a test);
                             otherwise users log in with their system password (PAM)
    AIECOURSE_HIDDEN_SEED    when set: passed to the instructors' servers only (the hidden tests' seed)
    AIECOURSE_HUB_SERVICE_TOKEN  when set: a service "class-admin" with this token may start and stop
                             servers and use them (scripts; the test drives the class with it)
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

here = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get


def names(var):
    return {n.strip() for n in env(var, "").split(",") if n.strip()}


venv = env("AIECOURSE_HUB_VENV", "/opt/aiecourse-hub/venv")
state = env("AIECOURSE_HUB_STATE", "/srv/aiecourse-hub")
jupyter_dir = env("AIECOURSE_HUB_JUPYTER", os.path.join(here, "jupyter"))
instructors, students = names("AIECOURSE_INSTRUCTORS"), names("AIECOURSE_STUDENTS")

# --- network: the hub, its proxy and the proxy's API ---
c.JupyterHub.ip = env("AIECOURSE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(env("AIECOURSE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("AIECOURSE_HUB_INTERNAL_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('AIECOURSE_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [
    env(
        "AIECOURSE_HUB_PROXY", os.path.join(here, "..", "..", ".hub", "node_modules", ".bin", "configurable-http-proxy")
    )
]

# --- the hub's own state ---
os.makedirs(state, mode=0o700, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{os.path.join(state, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(state, "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

# --- who may log in ---
if env("AIECOURSE_HUB_PASSWORD"):
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = env("AIECOURSE_HUB_PASSWORD")
else:
    c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = instructors | students

# --- each user's JupyterLab, as that user, from the course environment ---
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(venv, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 180  # a loaded machine: first imports of JupyterLab can take a while
c.Spawner.http_timeout = 180
c.Spawner.environment = {
    # the course environment first, so that terminals and kernels find python, nbgrader and the grader
    "PATH": os.pathsep.join([os.path.join(venv, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
    "MPLBACKEND": "Agg",
    # where nbgrader's exchange is (jupyter/shared/nbgrader_config.py reads it)
    "AIECOURSE_EXCHANGE": env("AIECOURSE_EXCHANGE", "/srv/nbgrader/exchange"),
}


def pre_spawn_hook(spawner):
    """Instructors get the formgrader; students get the assignment list only. Both share the course id
    and the exchange (jupyter/shared/nbgrader_config.py)."""
    role = "instructor" if spawner.user.name in instructors else "student"
    extra = {
        "JUPYTER_CONFIG_PATH": os.pathsep.join([os.path.join(jupyter_dir, role), os.path.join(jupyter_dir, "shared")])
    }
    if role == "instructor" and env("AIECOURSE_HIDDEN_SEED"):
        # the seed that draws the hidden tests' cases when autograding (README): instructors only
        extra["AIECOURSE_HIDDEN_SEED"] = env("AIECOURSE_HIDDEN_SEED")
    spawner.environment = {**spawner.environment, **extra}


c.Spawner.pre_spawn_hook = pre_spawn_hook

# --- an API token for scripts (and for tests/test_hub.py) ---
if env("AIECOURSE_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "class-admin", "api_token": env("AIECOURSE_HUB_SERVICE_TOKEN")}]
    c.JupyterHub.load_roles = [
        {
            "name": "class-admin",
            "scopes": ["admin:users", "admin:servers", "access:servers", "read:hub"],
            "services": ["class-admin"],
        }
    ]
