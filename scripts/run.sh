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
# Gerbang derives BORDER_URL from it (config/settings.py).
export GERBANG_BORDER_PORT=${GERBANG_BORDER_PORT:-8004}
# Gerbang's registry client reads GERBANG_REGISTRY_URL: keep it on the registry's port.
export GERBANG_REGISTRY_URL=${GERBANG_REGISTRY_URL:-http://127.0.0.1:$GERBANG_REGISTRY_PORT}
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
# The sandbox border control creates its key pair in var/border/ when it starts (border.pub, trusted by
# Gerbang through GERBANG_BORDER_KEY_FILE), before it sends anything; Gerbang reads that file on every report.

# A demo lottery day at the demo office (manage.py demo_visit_day), run in the background once the web
# process and the witness, registry and bank answer. It never holds up or stops the others, and it is
# stopped when honcho ends; its output is appended to the log.
demo_log="${GERBANG_VAR_DIR:-var}/demo-visit-day.log"
demo_visit_day() {
    set +e
    local shell_pid=$$  # honcho's, once this script has exec'd it
    local urls=("$base/api/v1/health" "$GERBANG_WITNESS_URL/healthz" "$GERBANG_REGISTRY_URL/healthz"
        "http://127.0.0.1:$GERBANG_BANK_PORT/healthz" "http://127.0.0.1:$GERBANG_BORDER_PORT/healthz")
    local probe='import sys, urllib.request
for url in sys.argv[1:]:
    urllib.request.urlopen(url, timeout=2).close()'
    local deadline=$((SECONDS + 180))
    until .venv/bin/python -c "$probe" "${urls[@]}" 2>/dev/null; do
        kill -0 "$shell_pid" 2>/dev/null || return 0
        if ((SECONDS > deadline)); then
            echo "demo_visit_day not started: ${urls[*]} did not all answer within 180 s"
            return 1
        fi
        sleep 1
    done
    echo "=== $(date '+%Y-%m-%d %H:%M:%S') manage.py demo_visit_day ==="
    PYTHONUNBUFFERED=1 .venv/bin/python manage.py demo_visit_day --check-in --base-url "$base" &
    local demo=$!
    while kill -0 "$demo" 2>/dev/null; do
        kill -0 "$shell_pid" 2>/dev/null || kill "$demo" 2>/dev/null
        sleep 1
    done
    wait "$demo"
    local status=$?
    if ! kill -0 "$shell_pid" 2>/dev/null; then
        echo "demo_visit_day stopped: make run has ended"
    elif ((status != 0)); then
        echo "demo_visit_day failed (exit $status); again: .venv/bin/python manage.py demo_visit_day"
    else
        # The checked-in person's case, every step by the officer drawn for it, to the passport's handover.
        echo "=== $(date '+%Y-%m-%d %H:%M:%S') manage.py demo_casework ==="
        PYTHONUNBUFFERED=1 .venv/bin/python manage.py demo_casework --base-url "$base" ||
            echo "demo_casework failed; again: .venv/bin/python manage.py demo_casework"
        # Foreigners: a sponsored work visa, the entry from border control, ITAS and extension, an e-VoA
        # without an officer, an overstay fined from border events.
        echo "=== $(date '+%Y-%m-%d %H:%M:%S') manage.py demo_visas ==="
        PYTHONUNBUFFERED=1 .venv/bin/python manage.py demo_visas --base-url "$base" ||
            echo "demo_visas failed; again: .venv/bin/python manage.py demo_visas"
        # Planted abuse among that clean work for the supervisors to find: a broker's card and laptop, a verifier
        # writing his WhatsApp number and opening files off duty, a front-desk officer with cash in his drawer, an
        # anonymous report; then the integrity signals and the demo log-in who sees each one.
        echo "=== $(date '+%Y-%m-%d %H:%M:%S') manage.py demo_supervision ==="
        PYTHONUNBUFFERED=1 .venv/bin/python manage.py demo_supervision --base-url "$base" ||
            echo "demo_supervision failed; again: .venv/bin/python manage.py demo_supervision --base-url $base"
    fi
}

cat <<INFO

Gerbang is starting (Ctrl-C stops every process: web, worker, sealer, witness, registry, bank, border).

  Gerbang       $base/
  API           $base/api/v1/docs
  Audit log     $base/api/v1/audit/status   (signed head: /api/v1/audit/checkpoint)
  Witness       $GERBANG_WITNESS_URL/v1/status   (independent cosigner of the audit log)
  Verify        .venv/bin/python manage.py audit_verify
  Registry      http://127.0.0.1:$GERBANG_REGISTRY_PORT/v1/demo-residents   (sandbox population registry, signed HTTP)
  Bank          http://127.0.0.1:$GERBANG_BANK_PORT/   (sandbox collecting bank: pay a billing code at teller, ATM or mobile)
  Border        http://127.0.0.1:$GERBANG_BORDER_PORT/   (sandbox border control: record entries and exits, reported to Gerbang)
  Demo day      $demo_log   (once everything answers, in the background: a lottery
                at the demo office, bills paid, the waiting list, one check-in with both photos
                and a counter call, check-in codes for the rest; then the duty roster, lockers and
                counter sessions, and the checked-in person's case to the passport's handover, decided
                at Jakarta Timur (manage.py demo_casework); then the foreigners: a sponsored work visa,
                the entry from border control, ITAS and its extension, an e-VoA without an officer
                and an overstay fined from border events (manage.py demo_visas); last, planted abuse
                for the supervisors to find and the integrity signals (manage.py demo_supervision); again with
                .venv/bin/python manage.py demo_visit_day --base-url $base; GERBANG_DEMO_VISIT_DAY=0 skips it)
  Supervision   $base/staf/pengawasan/   (dashboards, as kakanim, kakanim-jaktim, kanwil or auditor)
                signals $base/staf/pengawasan/sinyal/   reports $base/staf/pengawasan/laporan/
  Report        $base/lapor/   (anonymous: keeps no address, browser or cookie)
  Transparency  $base/transparansi/   (per office, with CSV and JSON)

Demo log-ins:
INFO
.venv/bin/python manage.py demo_logins
echo

if [[ "${GERBANG_DEMO_VISIT_DAY:-1}" != 0 ]]; then
    mkdir -p "$(dirname "$demo_log")" || true
    (demo_visit_day >>"$demo_log" 2>&1 &)
fi

exec .venv/bin/honcho start -f Procfile
