#!/usr/bin/env bash
# The wheel a user installs with pip or pipx, alone (no extras), in a fresh virtualenv, outside the source tree:
# every command group answers, and a read and a write reach DynamoDB Local and PostgreSQL started by the wheel's own
# `cruddur local up`. Any traceback fails the check. .ci/run runs it; it leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
tmp=$(mktemp -d)
home="$tmp/home"
cleanup() {
  if [ -x "$tmp/venv/bin/cruddur" ]; then CRUDDUR_HOME="$home" "$tmp/venv/bin/cruddur" local down >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
say() { printf '[wheel-check] %s\n' "$*" >&2; }

"$src/.venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$tmp/dist" "$src" >/dev/null
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check "$tmp"/dist/*.whl
say "installed $(ls "$tmp"/dist) alone into a fresh venv"

mkdir -p "$home"
# share the machine's installed DynamoDB Local (the wheel would fetch the same npm package otherwise)
engines="${CRUDDUR_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/cruddur}/dynamodb-local"
if [ -d "$engines" ]; then ln -s "$engines" "$home/dynamodb-local"; fi

cd "$tmp"   # nothing of the source tree on sys.path
env -i PATH="$tmp/venv/bin:$PATH" HOME="$HOME" CRUDDUR_HOME="$home" LANG=C.UTF-8 bash -euo pipefail -c '
  run() { "$@" 2>err.txt >out.txt || { cat err.txt >&2; echo "failed: $*" >&2; exit 1; }
          if grep -q Traceback err.txt out.txt; then cat err.txt >&2; echo "traceback: $*" >&2; exit 1; fi; }
  for group in "" ddb db rds cognito local doctor; do run cruddur $group --help; done
  run cruddur --version
  run cruddur local up
  eval "$(cruddur local env)"
  run cruddur ddb schema-load
  run cruddur ddb seed
  run cruddur ddb scan -o json
  python3 -c "import json,sys; d=json.load(open(\"out.txt\")); n=len(d[\"items\"] if isinstance(d,dict) else d); assert n > 0, n; print(f\"[wheel-check] scan read {n} items\", file=sys.stderr)"
  run cruddur ddb list-tables -o json
  run cruddur db status
  run cruddur db setup
  cruddur doctor -o json >out.txt 2>err.txt || true; if grep -q Traceback err.txt out.txt; then cat err.txt >&2; exit 1; fi
  run cruddur local down
'
say "ok"
