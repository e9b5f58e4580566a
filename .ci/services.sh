#!/usr/bin/env bash
# Start or stop throwaway PostgreSQL and Redis servers on loopback ports, for the
# test leg that runs on them. Prints the environment to use on `start`.
#   .ci/services.sh start   -> eval "$(.ci/services.sh start)"
#   .ci/services.sh stop
set -euo pipefail

STATE_DIR=${CHAT_SERVICES_DIR:-/tmp/chat-services}
PG_PORT=${CHAT_PG_PORT:-55432}
REDIS_PORT=${CHAT_REDIS_PORT:-56379}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

as_postgres() {
  # initdb and postgres refuse to run as root.
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

start() {
  [ -n "$PG_BIN" ] || { echo "PostgreSQL is not installed" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
  mkdir -p "$STATE_DIR"
  chmod 755 "$STATE_DIR"
  local pgdata="$STATE_DIR/pg"
  if [ ! -s "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$pgdata"
    as_postgres "$PG_BIN/initdb -D '$pgdata' -A trust -U postgres --no-sync" >"$STATE_DIR/initdb.log" 2>&1
  fi
  if ! as_postgres "$PG_BIN/pg_ctl -D '$pgdata' status" >/dev/null 2>&1; then
    as_postgres "$PG_BIN/pg_ctl -D '$pgdata' -l '$pgdata/server.log' -w -t 60 \
      -o '-p $PG_PORT -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start" >/dev/null
  fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$STATE_DIR" --daemonize yes --pidfile "$STATE_DIR/redis.pid" \
      --logfile "$STATE_DIR/redis.log"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/chat"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export CHAT_PG_BIN=$PG_BIN CHAT_PG_DATA=$pgdata CHAT_PG_PORT=$PG_PORT CHAT_REDIS_PORT=$REDIS_PORT"
}

stop() {
  local pgdata="$STATE_DIR/pg"
  if [ -n "$PG_BIN" ] && [ -d "$pgdata" ]; then
    as_postgres "$PG_BIN/pg_ctl -D '$pgdata' -m fast -w stop" >/dev/null 2>&1 || true
  fi
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
