#!/usr/bin/env bash
# The Django recipe of the README, run for real: the original system's Django project
# (../shared/baseline/django) with the app rappels_feed, whose signals write the feed and
# whose export_rappels command writes the full export; rappels imports the export and
# ingests the feed, and `rappels plan --db` must then say what the platform's data says.
#
# Usage: examples/django/test.sh   (RAPPELS_BIN: the binary, default target/debug/rappels)
# Needs python3 and the package registry (Django, in a virtualenv under target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RAPPELS=${RAPPELS_BIN:-$ROOT/target/debug/rappels}
[ -x "$RAPPELS" ] || cargo build -q -p rappels-cli --bin rappels
VENV=$ROOT/target/django-venv
if [ ! -x "$VENV/bin/django-admin" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'Django>=5,<6'
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$ROOT/../shared/baseline/django/." "$WORK/site"
chmod -R u+w "$WORK/site"
cp -r "$ROOT/examples/django/rappels_feed" "$WORK/site/"
cat >"$WORK/site/mykarfour/test_settings.py" <<PY
from .settings import *  # noqa: F401,F403

INSTALLED_APPS = INSTALLED_APPS + ["rappels_feed"]
RAPPELS_FEED = "$WORK/changes.jsonl"
DATABASES["default"]["NAME"] = "$WORK/site.sqlite3"
PY
export DJANGO_SETTINGS_MODULE=mykarfour.test_settings PYTHONPATH="$WORK/site"
export RAPPELS_DATABASE_URL="sqlite://$WORK/rappels.db"
cd "$WORK/site"
"$VENV/bin/python" manage.py migrate -v 0
"$VENV/bin/python" "$ROOT/examples/django/scenario.py" before
"$VENV/bin/python" manage.py export_rappels >"$WORK/export.json"
"$RAPPELS" -q import --mode full "$WORK/export.json" >/dev/null
: >"$WORK/changes.jsonl"
"$VENV/bin/python" "$ROOT/examples/django/scenario.py" changes
"$RAPPELS" -q ingest "$WORK/changes.jsonl"
"$RAPPELS" -q plan --db --at 2026-11-26T17:45:00Z --format json >"$WORK/plan.json"
"$VENV/bin/python" "$ROOT/examples/django/scenario.py" check "$WORK/plan.json" "$WORK/changes.jsonl"
# A second ingest of the same feed changes nothing, and the nightly export agrees with it.
"$RAPPELS" -q ingest "$WORK/changes.jsonl" | grep -q '^0 written'
"$VENV/bin/python" manage.py export_rappels >"$WORK/export2.json"
"$RAPPELS" -q import --mode full --dry-run "$WORK/export2.json" >"$WORK/dry.txt"
if grep -E '[1-9][0-9]* (added|changed|removed)' "$WORK/dry.txt" | grep -v 'manual\|sent keys'; then
  echo "the feed and the export disagree:" >&2; cat "$WORK/dry.txt" >&2; exit 1
fi
echo "django recipe: ok ($(wc -l <"$WORK/changes.jsonl") feed lines)"
