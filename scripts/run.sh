#!/usr/bin/env bash
# Start Gerbang in the foreground: every process in the Procfile under honcho.
# Ctrl-C stops them all. `make run` migrates, seeds and collects static files
# first, then calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

export GERBANG_PORT=${GERBANG_PORT:-8000}
export GERBANG_WITNESS_PORT=${GERBANG_WITNESS_PORT:-8001}
export GERBANG_WITNESS_URL=${GERBANG_WITNESS_URL:-http://127.0.0.1:$GERBANG_WITNESS_PORT}
export GERBANG_REGISTRY_PORT=${GERBANG_REGISTRY_PORT:-8002}
export GERBANG_BANK_PORT=${GERBANG_BANK_PORT:-8003}
# "localhost", not 127.0.0.1: the WebAuthn relying-party id defaults to localhost.
base="http://localhost:$GERBANG_PORT"

# The audit log's signing key (created once) and a first signed head, so the
# witness has something to cosign as soon as it starts.
.venv/bin/python manage.py audit_keygen >/dev/null
.venv/bin/python manage.py audit_checkpoint >/dev/null
# Gerbang's key for signed HTTP to the outside systems (the registry trusts its public half).
.venv/bin/python -m signedhttp keygen gerbang-client var/keys >/dev/null
# The sandbox bank's shared HMAC secret (Gerbang and the bank both read var/keys/banks/bank-sandbox.secrets).
.venv/bin/python manage.py bank_secret bank-sandbox >/dev/null

cat <<INFO

Gerbang is starting (Ctrl-C stops every process: web, worker, sealer, witness, registry, bank).

  Gerbang       $base/
  API           $base/api/v1/docs
  Audit log     $base/api/v1/audit/status   (signed head: /api/v1/audit/checkpoint)
  Witness       $GERBANG_WITNESS_URL/v1/status   (independent cosigner of the audit log)
  Verify        .venv/bin/python manage.py audit_verify
  Registry      http://127.0.0.1:$GERBANG_REGISTRY_PORT/v1/demo-residents   (sandbox population registry, signed HTTP)
  Bank          http://127.0.0.1:$GERBANG_BANK_PORT/   (sandbox collecting bank: pay a billing code at teller, ATM or mobile)

Demo log-ins:
INFO
.venv/bin/python manage.py demo_logins
echo

exec .venv/bin/honcho start -f Procfile
