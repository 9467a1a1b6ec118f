#!/usr/bin/env bash
# Start Gerbang in the foreground: every process in the Procfile under honcho.
# Ctrl-C stops them all. `make run` migrates, seeds and collects static files
# first, then calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

export GERBANG_PORT=${GERBANG_PORT:-8000}
# "localhost", not 127.0.0.1: the WebAuthn relying-party id defaults to localhost.
base="http://localhost:$GERBANG_PORT"

cat <<INFO

Gerbang is starting (Ctrl-C stops every process).

  Gerbang       $base/

Demo log-ins:
INFO
.venv/bin/python manage.py demo_logins
echo

exec .venv/bin/honcho start -f Procfile
