#!/usr/bin/env bash
# Pooler's two entry points on a fresh machine:
#   ./pooler.sh demo   build Pooler, start a throwaway PostgreSQL and Pooler in front of it, show a psql session
#   ./pooler.sh test   build and run every test (a real PostgreSQL is started by the tests themselves)
# Each installs what it needs (PostgreSQL 15 from Debian's packages; for the tests also chromium, psycopg 3 and
# asyncpg from Debian's packages and node-postgres from npm) when it is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PG_BIN="${POOLER_PG_BIN:-/usr/lib/postgresql/15/bin}"
CONFIGURATION="${CONFIGURATION:-Release}"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'pooler.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi
}

ensure_dotnet() {
  command -v dotnet >/dev/null || die "the .NET 10 SDK is required (dotnet was not found on PATH)"
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

ensure_postgres() {
  if [ -x "$PG_BIN/initdb" ] && command -v psql >/dev/null; then return; fi
  log "installing PostgreSQL 15 from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL was installed but $PG_BIN/initdb is missing"
}

# The dashboard tests drive Debian's chromium (Playwright cannot download browsers here).
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  log "installing chromium from Debian's packages (for the dashboard tests)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# The prepared-statement client tests (PreparedStatementClientTests) drive real client libraries:
# psycopg 3 and asyncpg from Debian's packages, run by Debian's own interpreter /usr/bin/python3
# (`python3` on PATH may be a pyenv shim without them), and node-postgres, pinned in
# tests/clients/package.json and installed into tests/clients/node_modules (git-ignored).
ensure_client_libraries() {
  local missing=()
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import psycopg' 2>/dev/null || missing+=(python3-psycopg)
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import asyncpg' 2>/dev/null || missing+=(python3-asyncpg)
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} from Debian's packages (for the client library tests)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  local clients="$ROOT/tests/clients" pinned installed
  pinned="$(node -p "require('$clients/package.json').dependencies.pg")"
  installed="$(node -p "require('$clients/node_modules/pg/package.json').version" 2>/dev/null || true)"
  if [ "$installed" != "$pinned" ]; then
    log "installing node-postgres $pinned into tests/clients/node_modules (npm ci)"
    (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build() {
  log "building Pooler ($CONFIGURATION)"
  dotnet build "$ROOT/Pooler.sln" -c "$CONFIGURATION" -nologo -v quiet -clp:NoSummary
}

cmd_test() {
  ensure_dotnet
  ensure_postgres
  ensure_chromium
  ensure_client_libraries
  build
  log "running the tests"
  # Test assemblies run one after another so that a 2-core machine is not oversubscribed by
  # several PostgreSQL servers and pooler processes at once.
  dotnet test "$ROOT/Pooler.sln" -c "$CONFIGURATION" --no-build -nologo -m:1 \
    --logger "console;verbosity=normal" "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs a PostgreSQL command as an unprivileged user: PostgreSQL refuses to run as root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

demo_cleanup() {
  if [ -n "${DEMO_POOLER_PID:-}" ]; then kill "$DEMO_POOLER_PID" 2>/dev/null; wait "$DEMO_POOLER_PID" 2>/dev/null || true; fi
  if [ -n "${DEMO_WORK:-}" ]; then
    as_pg "$PG_BIN/pg_ctl" stop -D "$DEMO_WORK/data" -m fast >/dev/null 2>&1 || true
    rm -rf "$DEMO_WORK"
  fi
}

cmd_demo() {
  ensure_dotnet
  ensure_postgres
  build
  # Globals, not locals: the EXIT trap runs after this function has returned.
  DEMO_WORK="$(mktemp -d /tmp/pooler-demo.XXXXXX)"; DEMO_POOLER_PID=""
  local work="$DEMO_WORK" pg_port pooler_port akka_port
  pg_port="$(free_port)"; pooler_port="${POOLER_PORT:-6432}"; akka_port="$(free_port)"
  [ "$(id -u)" -eq 0 ] && chown postgres "$work"
  trap demo_cleanup EXIT

  log "starting a throwaway PostgreSQL on 127.0.0.1:$pg_port ($work)"
  echo "demo-superuser" > "$work/pw"; [ "$(id -u)" -eq 0 ] && chown postgres "$work/pw"
  as_pg "$PG_BIN/initdb" -D "$work/data" -U postgres --pwfile "$work/pw" --auth-local=trust \
    --auth-host=scram-sha-256 --no-locale -E UTF8 --no-sync >/dev/null
  as_pg "$PG_BIN/pg_ctl" start -w -D "$work/data" -l "$work/postgres.log" \
    -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1" >/dev/null
  as_pg "$PG_BIN/psql" -X -q -h "$work" -p "$pg_port" -U postgres -d postgres \
    -c "CREATE ROLE demo_user LOGIN PASSWORD 'demo-password'" -c "CREATE DATABASE demo OWNER demo_user"

  # The embedded default: the PostgresML guide's shape, one pool of one server connection.
  cat > "$work/pooler.toml" <<TOML
[general]
host = "127.0.0.1"
port = $pooler_port
admin_username = "admin"
admin_password = "admin-password"

[cluster]
port = $akka_port

[pools.demo]
pool_mode = "transaction"

[pools.demo.shards.0]
servers = [["127.0.0.1", $pg_port, "primary"]]
database = "demo"

[pools.demo.users.0]
username = "demo_user"
password = "demo-password"
pool_size = 1
TOML
  log "Pooler's configuration ($work/pooler.toml)"
  cat "$work/pooler.toml"

  log "starting Pooler on 127.0.0.1:$pooler_port"
  dotnet "$ROOT/src/Pooler.Host/bin/$CONFIGURATION/net10.0/pooler.dll" --config "$work/pooler.toml" &
  DEMO_POOLER_PID=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$pooler_port") 2>/dev/null && break
    kill -0 "$DEMO_POOLER_PID" 2>/dev/null || die "Pooler exited during start-up"
    sleep 0.1
  done

  export PGPASSWORD=demo-password
  local psql_cmd=(psql -X -h 127.0.0.1 -p "$pooler_port" -U demo_user -d demo)
  log "psql through Pooler: ${psql_cmd[*]}"
  "${psql_cmd[@]}" -c "SELECT version()" -c "SELECT pg_backend_pid() AS server_pid, current_user, current_database()"

  log "pgbench through Pooler: 10 clients, transaction mode, pool_size = 1"
  pgbench -i -s 1 -q -h 127.0.0.1 -p "$pooler_port" -U demo_user demo 2>&1 | tail -n 1
  pgbench -n -c 10 -j 2 -T 5 -h 127.0.0.1 -p "$pooler_port" -U demo_user demo 2>&1 \
    | grep -E "clients|transactions actually processed|failed|tps"
  log "server connections PostgreSQL saw for demo_user (one for all ten clients):"
  as_pg "$PG_BIN/psql" -X -q -h "$work" -p "$pg_port" -U postgres -d postgres -A -t \
    -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'demo_user'"

  if [ -t 0 ] && [ -t 1 ]; then
    log "your turn: an interactive psql through Pooler (\\q to quit)"
    "${psql_cmd[@]}" || true
  fi
}

case "${1:-}" in
  test) shift; cmd_test "$@" ;;
  demo) shift; cmd_demo "$@" ;;
  *) echo "usage: ./pooler.sh demo | test [dotnet test options]" >&2; exit 2 ;;
esac
