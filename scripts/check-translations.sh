#!/usr/bin/env bash
# Re-extract the translatable strings into locale/{id,en}/LC_MESSAGES/django.po
# and report what the Indonesian catalogue still lacks.
#
#   bash scripts/check-translations.sh          # update the catalogues, report
#   bash scripts/check-translations.sh --list   # ... and print each untranslated/fuzzy msgid
#
# Exits 1 while anything in the Indonesian catalogue is untranslated or fuzzy.
# It also compiles the catalogues (fuzzy entries are left out of the .mo);
# after translating (and removing every "#, fuzzy" flag), run it again.
# The English catalogue keeps empty msgstr: the source strings are English
# and Django shows the msgid.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PY:-.venv/bin/python}
ID_PO=locale/id/LC_MESSAGES/django.po
export LC_ALL=C  # gettext's own messages in English, so they can be read below
unset LANGUAGE

for tool in msgfmt msgattrib; do
    command -v "$tool" >/dev/null || { echo "check-translations: $tool not found; install gettext" >&2; exit 2; }
done

"$PY" manage.py makemessages -l id -l en --ignore=.venv --ignore=var --no-obsolete

stats=$(msgfmt --check --statistics -o /dev/null "$ID_PO" 2>&1) || { echo "$stats" >&2; exit 1; }
echo "$ID_PO: $stats"

fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$ID_PO" | grep -c '^msgid ' || true)
untranslated=$(msgattrib --untranslated --no-obsolete "$ID_PO" | grep -c '^msgid ' || true)
# msgattrib also prints the header entry when it prints anything.
[ "$fuzzy" -gt 0 ] && fuzzy=$((fuzzy - 1))
[ "$untranslated" -gt 0 ] && untranslated=$((untranslated - 1))
header_fuzzy=$(awk '/^msgid ""$/{exit} /^#,.*fuzzy/{print "yes"}' "$ID_PO")

echo "fuzzy: $fuzzy   untranslated: $untranslated   fuzzy header: ${header_fuzzy:-no}"

# Compile too, so that the running site and the tests see the catalogues as they now are.
"$PY" manage.py compilemessages -l id -l en --ignore='.venv/*' >/dev/null

if [ "${1:-}" = "--list" ]; then
    echo "--- fuzzy"
    msgattrib --only-fuzzy --no-obsolete --no-wrap "$ID_PO" | sed -n 's/^msgid "\(..*\)"$/  \1/p'
    echo "--- untranslated"
    msgattrib --untranslated --no-obsolete --no-wrap "$ID_PO" | sed -n 's/^msgid "\(..*\)"$/  \1/p'
fi

if [ "$fuzzy" -gt 0 ] || [ "$untranslated" -gt 0 ] || [ -n "$header_fuzzy" ]; then
    exit 1
fi
