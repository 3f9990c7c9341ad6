#!/bin/sh
# Runs before the image's 20-envsubst-on-templates.sh: the rendered template goes under /tmp, the one
# writable place when the root filesystem is read-only and nginx runs unprivileged.
set -e
mkdir -p "${NGINX_ENVSUBST_OUTPUT_DIR:?}"
