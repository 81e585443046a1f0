#!/usr/bin/env bash
# Installs what a JupyterHub for the course needs on this machine, and what tests/test_hub.py runs:
#   - configurable-http-proxy (the hub's proxy, from the npm registry) into .hub/ in this checkout;
#   - a Python environment that every user can run ($HUB_VENV, default /opt/aiecourse-hub/venv):
#     JupyterHub, JupyterLab, nbgrader and the course itself (torch, aiecourse, grader);
#   - bubblewrap (apt), the sandbox every grading kernel runs in (docs/sandbox.md).
# Safe to run again: it only installs what is missing and re-installs the course from this checkout.
#
# Why a separate environment: the single-user servers run as the students' own system users, so the
# interpreter, its packages and every folder above them must be readable by other users. A venv made
# from an interpreter under /root (pyenv, mode 0700) fails to spawn with PermissionError, and so does
# one inside a checkout under /root. Debian's /usr/bin/python3.11 and a folder under /opt are fine.
set -euo pipefail
cd "$(dirname "$0")/../.."

HUB_VENV=${HUB_VENV:-/opt/aiecourse-hub/venv}
HUB_PYTHON=${HUB_PYTHON:-/usr/bin/python3.11}
TORCH=${TORCH:-torch==2.13.0}
if ! command -v bwrap >/dev/null; then
    echo "== bubblewrap (the grading sandbox) from apt"
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap
    else
        echo "setup.sh: bubblewrap is missing; as root: apt-get install -y bubblewrap" >&2; exit 1
    fi
fi
command -v npm >/dev/null || { echo "setup.sh: npm is missing (Node.js 20, or 18: apt-get install -y nodejs npm)" >&2; exit 1; }
# configurable-http-proxy 5 needs Node.js 20 or newer; 4 runs on older ones (Debian 12 ships Node 18).
if [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then CHP_VERSION=${CHP_VERSION:-5}; else CHP_VERSION=${CHP_VERSION:-4}; fi
[ -x "$HUB_PYTHON" ] || { echo "setup.sh: $HUB_PYTHON is missing (set HUB_PYTHON to a Python 3.10+ that every user can run)" >&2; exit 1; }

if [ ! -x .hub/node_modules/.bin/configurable-http-proxy ]; then
    echo "== configurable-http-proxy@$CHP_VERSION -> .hub/node_modules"
    mkdir -p .hub
    npm install --prefix .hub --no-audit --no-fund --loglevel=error "configurable-http-proxy@$CHP_VERSION"
fi

if [ ! -x "$HUB_VENV/bin/python" ]; then
    echo "== venv $HUB_VENV (from $HUB_PYTHON)"
    mkdir -p "$(dirname "$HUB_VENV")"
    "$HUB_PYTHON" -m venv "$HUB_VENV"
    "$HUB_VENV/bin/python" -m pip install -q --upgrade pip
fi
"$HUB_VENV/bin/python" -c "import torch" 2>/dev/null || "$HUB_VENV/bin/python" -m pip install -q $TORCH
echo "== environment.yml's packages + the course -> $HUB_VENV"
# The user environment of the hub is environment.yml's (its pip list), the course itself installed
# regularly instead of editable: the students' kernels must not need to read this checkout.
mapfile -t REQS < <(sed -n '/^ *- pip:/,$p' environment.yml | sed -n 's/^ *- \(.*\)$/\1/p' | grep -v '^pip:$' | grep -v '^-e ')
"$HUB_VENV/bin/python" -m pip install -q "${REQS[@]}" .
rm -rf build
# JupyterLab's "get notified about Jupyter news?" pop-up: off for every user of the hub.
mkdir -p "$HUB_VENV/share/jupyter/lab/settings"
cat > "$HUB_VENV/share/jupyter/lab/settings/overrides.json" <<'JSON'
{
  "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}
}
JSON
chmod -R a+rX "$HUB_VENV"

# Every folder above the venv must be enterable by other users.
d=$HUB_VENV
while [ "$d" != "/" ]; do
    if [ "$(stat -c %A "$d" | cut -c10)" != "x" ]; then
        echo "setup.sh: $d is not enterable by other users: the hub cannot spawn servers from $HUB_VENV" >&2
        exit 1
    fi
    d=$(dirname "$d")
done
"$HUB_VENV/bin/jupyterhub" --version >/dev/null
echo "$HUB_VENV" > .hub/venv  # where tests/test_hub.py finds it
echo "== ready: $HUB_VENV/bin/jupyterhub, .hub/node_modules/.bin/configurable-http-proxy"
