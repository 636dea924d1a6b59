#!/usr/bin/env bash
# Makes sure the databases the tests talk to are running on loopback: PostgreSQL on 5432
# (trust auth for 127.0.0.1) and MariaDB on 3306 (root, empty password). Installs them with
# apt on a machine that has none. Idempotent.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

# PostgreSQL
if ! command -v pg_ctlcluster >/dev/null; then log "installing PostgreSQL"; apt_install postgresql postgresql-client; fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    log "allowing trust auth on 127.0.0.1 for the local test cluster"
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $ver"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test' >/dev/null

# MariaDB
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then log "installing MariaDB"; apt_install mariadb-server; fi
if ! mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 && ! mariadb-admin -uroot ping >/dev/null 2>&1; then
  log "starting MariaDB"
  $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 30); do mariadb-admin -uroot ping >/dev/null 2>&1 && break; sleep 1; done
fi
# A fresh Debian install lets root in only over the unix socket; the tests log in over TCP
# as root with an empty password (a local, loopback-only test server).
if ! mariadb -h 127.0.0.1 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  log "allowing root over TCP on the local test MariaDB"
  $SUDO mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
fi
mariadb -h 127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test'
mariadb-admin -h 127.0.0.1 -uroot ping
