#!/usr/bin/env bash
# Starts a streaming replica of the local PostgreSQL cluster on 127.0.0.1:5433 (the
# replica routing tests, crates/throughline/tests/replicas.rs), unless one answers there:
# pg_basebackup of the primary (5432) into the cluster's `replica` directory, with its
# own small configuration (Debian keeps the primary's in /etc), started with pg_ctl.
set -euo pipefail
port=5433
if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
  exit 0
fi
echo "starting a streaming replica of PostgreSQL on port $port"
version=$(ls /etc/postgresql | sort -V | tail -n 1)
bin="/usr/lib/postgresql/$version/bin"
dir="/var/lib/postgresql/$version/replica"
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
psql_primary() { psql -h 127.0.0.1 -p 5432 -U postgres -d test -Atqc "$1"; }
# Replication connections from 127.0.0.1 are trusted, as the other local ones.
hba=$(psql_primary 'SHOW hba_file')
if ! as_postgres grep -qE '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  echo "host replication all 127.0.0.1/32 trust" | as_postgres tee -a "$hba" >/dev/null
  psql_primary 'SELECT pg_reload_conf()' >/dev/null
fi
[ "$(psql_primary 'SHOW wal_level')" != "minimal" ] \
  || { echo "FAIL: the primary's wal_level is minimal; a replica needs replica"; exit 1; }
if [ -f "$dir/postmaster.pid" ]; then
  as_postgres "$bin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
fi
rm -rf "$dir"
if [ "$(id -u)" -eq 0 ]; then
  install -d -o postgres -g postgres -m 700 "$dir"
else
  sudo install -d -o postgres -g postgres -m 700 "$dir"
fi
as_postgres pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D "$dir" -R -X stream
as_postgres cp "$hba" "$dir/pg_hba.conf"
as_postgres cp "$(psql_primary 'SHOW ident_file')" "$dir/pg_ident.conf"
as_postgres tee "$dir/postgresql.conf" >/dev/null <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
hba_file = '$dir/pg_hba.conf'
hot_standby = on
max_connections = $(psql_primary 'SHOW max_connections')
shared_buffers = 32MB
CONF
as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
pg_isready -h 127.0.0.1 -p "$port" || { echo "FAIL: the replica did not start"; cat "$dir/server.log"; exit 1; }
[ "$(psql -h 127.0.0.1 -p "$port" -U postgres -d test -Atc 'SELECT pg_is_in_recovery()')" = "t" ] \
  || { echo "FAIL: the server on port $port is not a replica"; exit 1; }
