#!/usr/bin/env bash
# A throw-away Citus cluster on loopback for the test suite: a coordinator and two workers.
#   .ci/citus.sh start  -> prints the SQLAlchemy URL of the coordinator
#   .ci/citus.sh stop
# Ports: $PARVIS_CITUS_PORT (coordinator, default 25440) and the next two (workers), all below
# Linux's ephemeral range (32768+). Folders under $PARVIS_CITUS_DIR (default /tmp/parvis-citus).
# Citus is built from ../shared/citus (or $PARVIS_CITUS_BUILD) into the system's PostgreSQL 15
# when it is not installed yet (about 3 minutes, once per machine).
# Every node runs with schema-based sharding on: a schema created on the coordinator becomes a
# distributed schema whose tables live on one worker. The `postgres` database of each node gets
# the extension and the coordinator knows its workers; a database created later needs the same
# steps (tests/factories.py does them for each test database; docs/architecture.md, "Running on
# Citus").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DIR=${PARVIS_CITUS_DIR:-/tmp/parvis-citus}
PORT=${PARVIS_CITUS_PORT:-25440}
BUILD=${PARVIS_CITUS_BUILD:-$here/../../shared/citus/build.sh}
BIN=/usr/lib/postgresql/15/bin
NODES=(coordinator worker1 worker2)
RUN=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  RUN=(runuser -u postgres --)
fi

stop_all() {
  for node in "${NODES[@]}"; do
    if [ -f "$DIR/$node/data/postmaster.pid" ]; then
      "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/$node/data" -m "$1" stop >/dev/null 2>&1 || true
    fi
  done
}

sql() {  # sql PORT DATABASE STATEMENT
  "${RUN[@]}" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" \
    -c "$3" >/dev/null
}

case "${1:-}" in
  start)
    if [ ! -f "$BIN/pg_config" ] || [ ! -f "$("$BIN/pg_config" --pkglibdir)/citus.so" ]; then
      [ -x "$BUILD" ] || { echo "Citus is not installed and $BUILD is missing" >&2; exit 1; }
      echo "building Citus with $BUILD (once per machine, about 3 minutes)" >&2
      "$BUILD" >&2
    fi
    stop_all immediate
    rm -rf "$DIR"; mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    for i in "${!NODES[@]}"; do
      node=${NODES[$i]} port=$((PORT + i))
      "${RUN[@]}" mkdir -p "$DIR/$node"
      "${RUN[@]}" "$BIN/initdb" -D "$DIR/$node/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >/dev/null
      # wal_level=logical: citus_move_shard_placement moves a tenant without blocking writes.
      "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/$node/data" -l "$DIR/$node/log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $DIR/$node -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_preload_libraries=citus -c citus.enable_schema_based_sharding=on -c wal_level=logical" \
        start >/dev/null
      sql "$port" postgres "CREATE EXTENSION citus"
    done
    sql "$PORT" postgres "SELECT citus_set_coordinator_host('127.0.0.1', $PORT)"
    sql "$PORT" postgres "SELECT citus_add_node('127.0.0.1', $((PORT + 1)))"
    sql "$PORT" postgres "SELECT citus_add_node('127.0.0.1', $((PORT + 2)))"
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    stop_all fast
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
