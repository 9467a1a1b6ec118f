#!/usr/bin/env bash
# Make sure the Debian packages Gerbang needs are installed; install only the
# missing ones. Safe to run again and again: when everything is present it does
# nothing and touches no network.
#
#   scripts/ensure-system-packages.sh              # what `make install` needs
#   scripts/ensure-system-packages.sh postgresql   # ... plus extra packages (CI)
#
# Needed by Gerbang:
#   gettext   msgfmt, used by `manage.py compilemessages`
#   chromium  /usr/bin/chromium, the browser the Playwright tests drive
#             (we never run `playwright install`)
#   fonts-dejavu-core  the font of the e-visa and permit PDFs (gerbang/visas/documents.py), which
#             write every Latin name; without it they fall back to Helvetica, which cannot
set -euo pipefail

packages=(gettext chromium fonts-dejavu-core "$@")

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian: we cannot install anything, so only check the tools we use.
    missing_tools=()
    command -v msgfmt >/dev/null 2>&1 || missing_tools+=("msgfmt (gettext)")
    [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || missing_tools+=("chromium")
    if [ ${#missing_tools[@]} -gt 0 ]; then
        echo "ensure-system-packages: this is not a Debian system; please install: ${missing_tools[*]}" >&2
        exit 1
    fi
    exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "ensure-system-packages: missing Debian packages: ${missing[*]}" >&2
    echo "ensure-system-packages: not root and sudo is not available; as root, run:" >&2
    echo "    apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "ensure-system-packages: installing missing Debian packages: ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"

# Double-check: a package that apt silently skipped would otherwise surface
# later as a confusing error.
still_missing=()
for pkg in "${missing[@]}"; do
    is_installed "$pkg" || still_missing+=("$pkg")
done
if [ ${#still_missing[@]} -gt 0 ]; then
    echo "ensure-system-packages: still not installed after apt-get: ${still_missing[*]}" >&2
    exit 1
fi
