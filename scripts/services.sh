#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis are reachable for development and tests.
#
#   eval "$(scripts/services.sh)"   start or reuse them; prints `export DATABASE_URL=...`
#                                   and `export REDIS_URL=...` (all else goes to stderr)
#   scripts/services.sh stop        stop the private instances started by this script
#   scripts/services.sh browser     install Chromium and a CJK font for page tests if missing
#
# For each service, in order:
#   1. DATABASE_URL / REDIS_URL set in the environment: use it as it is;
#   2. something listens on 127.0.0.1:5432 / 127.0.0.1:6379: use it
#      (skipped when CANTEEN_SERVICES_FORCE_PRIVATE=1);
#   3. otherwise install the Debian packages if missing and run private instances
#      under .data/ on ports CANTEEN_PG_PORT (55432) and CANTEEN_REDIS_PORT (56379).
# redis-server is installed in every case: the chaos tests start servers of their own.
set -euo pipefail

# Everything printed goes to stderr; the export lines go to fd 3 (the real stdout).
exec 3>&1 1>&2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/.data"
PG_PORT=${CANTEEN_PG_PORT:-55432}
REDIS_PORT=${CANTEEN_REDIS_PORT:-56379}
FORCE_PRIVATE=${CANTEEN_SERVICES_FORCE_PRIVATE:-}
DB_NAME=canteen

log() { echo "services: $*"; }
die() {
	echo "services: error: $*"
	exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# listening PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
listening() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# quote VALUE for the shell that evals our output.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# need_free PORT VARIABLE: fail unless PORT is free for one of our servers.
need_free() {
	if listening "$1"; then
		die "port $1 on 127.0.0.1 is taken by another program; set $2 to a free port"
	fi
}

emit() { printf 'export %s=%s\n' "$1" "$(quote "$2")" >&3; }

apt_install() {
	local sudo=()
	is_root || sudo=(sudo)
	log "installing $* with apt-get"
	local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@")
	if ! "${install[@]}"; then
		"${sudo[@]}" apt-get update
		"${install[@]}"
	fi
}

# --- PostgreSQL -------------------------------------------------------------------

PG_BIN=""
PG_DIR=""

# pg_bin [VERSION]: the bin directory of that PostgreSQL version, or of the highest one.
pg_bin() {
	if [ -n "${1:-}" ]; then
		[ -x "/usr/lib/postgresql/$1/bin/pg_ctl" ] && echo "/usr/lib/postgresql/$1/bin"
		return 0
	fi
	local d
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/pg_ctl" ] && echo "$d"
	return 0
}

# as_pg CMD...: run CMD as the owner of the data directory (postgres when we are root:
# initdb and postgres refuse to run as root).
as_pg() {
	if is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# detached CMD...: run CMD with stdin from /dev/null and every descriptor above 2 closed,
# so the server it leaves running holds no pipe of ours or of our caller (a server
# holding the pipe of `$(scripts/services.sh)` would make that wait for ever).
detached() {
	(
		for fd in "/proc/$BASHPID/fd"/*; do
			fd=${fd##*/}
			if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
		done
		"$@"
	) </dev/null
}

fallback_dir() { echo "/var/lib/canteen-dev/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"; }

# pg_dir: where the private cluster lives. When root, the postgres user must be able to
# reach it; if it cannot traverse to .data, use a directory under /var/lib instead.
pg_dir() {
	if is_root && ! runuser -u postgres -- test -x "$DATA"; then
		fallback_dir
	else
		echo "$DATA"
	fi
}

pg_running() { [ -f "$PG_DIR/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/pg" status >/dev/null 2>&1; }

# Line 4 of postmaster.pid is the port the server listens on.
pg_running_port() { sed -n 4p "$PG_DIR/pg/postmaster.pid"; }

pg_locate() {
	PG_DIR=$(pg_dir)
	local version=""
	[ -f "$PG_DIR/pg/PG_VERSION" ] && version=$(cat "$PG_DIR/pg/PG_VERSION")
	PG_BIN=$(pg_bin "$version")
	if [ -n "$version" ] && [ -z "$PG_BIN" ] && [ -n "$(pg_bin)" ]; then
		die "$PG_DIR/pg was made by PostgreSQL $version, which is not installed; remove that directory to start afresh"
	fi
}

pg_private() {
	mkdir -p "$DATA"
	pg_locate
	if [ -z "$PG_BIN" ]; then
		apt_install postgresql
		pg_locate
		[ -n "$PG_BIN" ] || die "no PostgreSQL found under /usr/lib/postgresql/*/bin after installing it"
	fi
	if [ "$PG_DIR" != "$DATA" ]; then
		log "the postgres user cannot reach $DATA; keeping the PostgreSQL data in $PG_DIR instead"
	fi
	local pgdata="$PG_DIR/pg" logfile="$PG_DIR/pg.log"

	if pg_running; then
		if [ "$(pg_running_port)" = "$PG_PORT" ]; then
			log "PostgreSQL (private, $pgdata) already runs on port $PG_PORT"
			return 0
		fi
		need_free "$PG_PORT" CANTEEN_PG_PORT
		log "private PostgreSQL runs on port $(pg_running_port); restarting it on $PG_PORT"
		as_pg "$PG_BIN/pg_ctl" -D "$pgdata" stop -m fast -w >/dev/null
	fi
	need_free "$PG_PORT" CANTEEN_PG_PORT

	mkdir -p "$pgdata"
	touch "$logfile"
	if is_root; then
		chown postgres:postgres "$pgdata" "$logfile"
	fi
	chmod 700 "$pgdata"
	if [ ! -f "$pgdata/PG_VERSION" ]; then
		log "creating a PostgreSQL cluster in $pgdata"
		as_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
	fi
	# A Unix socket path must stay short (about 100 bytes); use a /tmp folder for a deep repository.
	local sockdir="$pgdata"
	if [ "${#sockdir}" -gt 80 ]; then
		sockdir="/tmp/canteen-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
		mkdir -p "$sockdir"
		if is_root; then chown postgres:postgres "$sockdir"; fi
		chmod 700 "$sockdir"
	fi
	log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $logfile)"
	detached as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -l "$logfile" \
		-o "-p $PG_PORT -k $sockdir -c listen_addresses=127.0.0.1" start -w >/dev/null ||
		die "PostgreSQL did not start; see $logfile"
}

pg_stop() {
	local dir
	for dir in "$DATA" "$(fallback_dir)"; do
		[ -f "$dir/pg/postmaster.pid" ] || continue
		PG_DIR=$dir
		PG_BIN=$(pg_bin "$(cat "$dir/pg/PG_VERSION" 2>/dev/null || true)")
		[ -n "$PG_BIN" ] || continue
		if pg_running; then
			log "stopping PostgreSQL ($dir/pg)"
			as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" stop -m fast -w >/dev/null
		fi
	done
}

# ensure_database URL: create the URL's database when psql is at hand and it is missing.
# Without psql, `canteen migrate up` creates it.
ensure_database() {
	command -v psql >/dev/null || return 0
	local url=$1 rest hostpart path db query
	rest=${url#*://}
	hostpart=${rest%%/*}
	path=${rest#"$hostpart"}
	path=${path#/}
	db=${path%%\?*}
	query=${path#"$db"}
	[[ $db =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && [ "$db" != postgres ] || return 0
	local admin="${url%%://*}://$hostpart/postgres$query"
	local exists
	if ! exists=$(PGCONNECT_TIMEOUT=5 psql "$admin" -XtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" 2>&1); then
		log "could not check database $db: $exists"
		return 0
	fi
	if [ "$exists" != 1 ]; then
		log "creating database $db"
		PGCONNECT_TIMEOUT=5 psql "$admin" -XqAc "CREATE DATABASE \"$db\"" || log "could not create database $db"
	fi
}

# --- Redis ------------------------------------------------------------------------

REDIS_DIR="$DATA/redis"

redis_pid() {
	local pid
	pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ] && echo "$pid"
}

redis_private() {
	local pid
	if pid=$(redis_pid); then
		if [ "$(cat "$REDIS_DIR/port" 2>/dev/null)" = "$REDIS_PORT" ] && listening "$REDIS_PORT"; then
			log "Redis (private, $REDIS_DIR) already runs on port $REDIS_PORT"
			return 0
		fi
		need_free "$REDIS_PORT" CANTEEN_REDIS_PORT
		log "restarting the private Redis on port $REDIS_PORT"
		redis_stop
	fi
	need_free "$REDIS_PORT" CANTEEN_REDIS_PORT
	command -v redis-server >/dev/null || apt_install redis-server
	mkdir -p "$REDIS_DIR"
	log "starting Redis on 127.0.0.1:$REDIS_PORT (log: $REDIS_DIR/redis.log)"
	detached redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$REDIS_DIR" \
		--save "" --appendonly no --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
	echo "$REDIS_PORT" >"$REDIS_DIR/port"
	for _ in $(seq 50); do
		listening "$REDIS_PORT" && return 0
		sleep 0.2
	done
	die "Redis did not start; see $REDIS_DIR/redis.log"
}

redis_stop() {
	local pid
	pid=$(redis_pid) || return 0
	log "stopping Redis (pid $pid)"
	kill "$pid"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	rm -f "$REDIS_DIR/redis.pid"
}

# --- main -------------------------------------------------------------------------

if [ "${1:-}" = stop ]; then
	pg_stop
	redis_stop
	exit 0
elif [ "${1:-}" = browser ]; then
	# Page tests drive a real headless Chromium; without a CJK font every Chinese
	# glyph in a screenshot would be an empty box.
	if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
		apt_install chromium fonts-noto-cjk fontconfig ||
			{ [ "${CI:-}" = true ] && die "cannot install chromium and fonts-noto-cjk"; log "page tests will be skipped"; }
	fi
	exit 0
elif [ $# -gt 0 ]; then
	die "usage: scripts/services.sh [stop|browser]"
fi

if [ -n "${DATABASE_URL:-}" ]; then
	log "PostgreSQL: using DATABASE_URL from the environment"
	db_url=$DATABASE_URL
elif [ -z "$FORCE_PRIVATE" ] && listening 5432; then
	log "PostgreSQL: using the server on 127.0.0.1:5432"
	db_url="postgres://postgres@127.0.0.1:5432/$DB_NAME?sslmode=disable"
else
	pg_private
	db_url="postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME?sslmode=disable"
fi
ensure_database "$db_url"

if [ -n "${REDIS_URL:-}" ]; then
	log "Redis: using REDIS_URL from the environment"
	redis_url=$REDIS_URL
elif [ -z "$FORCE_PRIVATE" ] && listening 6379; then
	log "Redis: using the server on 127.0.0.1:6379"
	redis_url="redis://127.0.0.1:6379/0"
else
	redis_private
	redis_url="redis://127.0.0.1:$REDIS_PORT/0"
fi
# The chaos tests of cmd/canteen run Redis servers of their own (killed and restarted
# mid-test), so the binary is needed even when a Redis is already reachable.
if ! command -v redis-server >/dev/null; then
	apt_install redis-server ||
		{ [ "${CI:-}" = true ] && die "cannot install redis-server"; log "the Redis chaos tests will be skipped"; }
fi

emit DATABASE_URL "$db_url"
emit REDIS_URL "$redis_url"
