"""nbgrader settings every user of the class hub shares: the course id and the exchange.

The hub puts this folder on each server's JUPYTER_CONFIG_PATH (tools/hub/jupyterhub_config.py).
On a hand-made hub, /etc/jupyter/nbgrader_config.py with the same lines does the same.
"""

import os

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "aiecourse"
# One folder every user can write (mode 0777: nbgrader sets it so on the first release). On Kubernetes
# this is a shared volume mounted at the same path in every user's pod (docs/jupyterhub.md).
c.Exchange.root = os.environ.get("AIECOURSE_EXCHANGE", "/srv/nbgrader/exchange")
