#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on loopback for the test suite.
#   .ci/postgres.sh start  -> prints the SQLAlchemy URL of a fresh cluster
#   .ci/postgres.sh stop
# The cluster lives in $PARVIS_PG_DIR (default /tmp/parvis-pg) and listens on 127.0.0.1 only.
set -euo pipefail
PGDIR=${PARVIS_PG_DIR:-/tmp/parvis-pg}
PORT=${PARVIS_PG_PORT:-25429}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
RUN=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  RUN=(runuser -u postgres --)
fi
case "${1:-}" in
  start)
    if [ -f "$PGDIR/data/postmaster.pid" ]; then
      "${RUN[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PGDIR"; mkdir -p "$PGDIR"
    [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
    "${RUN[@]}" "$BIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "${RUN[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o \
      "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    [ -d "$PGDIR/data" ] && "${RUN[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PGDIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
