#!/usr/bin/env bash
# Local services for gpufleet's integration tests.
#
#   scripts/services.sh up     [SERVICE...]   install if missing, start, create test users; print exports
#   scripts/services.sh down   [SERVICE...]   stop what this script started
#   scripts/services.sh status [SERVICE...]   one line per service; exit 3 if one is stopped
#   scripts/services.sh env    [SERVICE...]   print the shell exports (starts nothing)
#   scripts/services.sh reset  [SERVICE...]   stop and delete the service's data
#   scripts/services.sh packages PACKAGE...   install the Debian packages that are missing (as `up` does)
#
# Services: postgres, nats, redis, influxdb. Each service is a set of functions named <service>_up, _down, _status,
# _env and _reset; add one to ALL_SERVICES to manage it. A service whose URL variable is already
# set in the environment (e.g. GPUFLEET_TEST_POSTGRES_URL) is used as it is and nothing is started.
#
# Everything lives under ${GPUFLEET_SERVICES_DIR:-$HOME/.cache/gpufleet/services}; `up` writes the
# exports to $GPUFLEET_SERVICES_DIR/env (source it). Servers listen on 127.0.0.1 only.
# Progress goes to stderr; stdout carries only the exports, so `eval "$(scripts/services.sh up)"`
# works too.
set -euo pipefail

if [[ -z ${HOME:-} ]]; then
	HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
fi
SERVICES_DIR=${GPUFLEET_SERVICES_DIR:-$HOME/.cache/gpufleet/services}
ENV_FILE=$SERVICES_DIR/env
# Seconds to wait for a server to accept connections, and for apt-get to finish.
READY_TIMEOUT=${GPUFLEET_SERVICES_TIMEOUT:-30}
APT_TIMEOUT=${GPUFLEET_APT_TIMEOUT:-900}
ALL_SERVICES=(postgres nats redis influxdb)

# ---------------------------------------------------------------------------------------------
# Common helpers

log() { printf 'services: %s\n' "$*" >&2; }
die() {
	printf 'services: error: %s\n' "$*" >&2
	exit 1
}
is_root() { [[ $(id -u) == 0 ]]; }

# Single-quote a value for a POSIX shell.
shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Print the last lines of a log file to stderr, to explain a failure.
log_tail() {
	local file=$1
	if [[ -r $file ]]; then
		printf 'services: --- last lines of %s ---\n' "$file" >&2
		tail -n "${2:-30}" "$file" >&2 || true
		printf 'services: ---\n' >&2
	fi
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Install the Debian packages among "$@" that dpkg says are missing, with one `apt-get update`
# per run of this script, quietly and without questions.
APT_UPDATED=0
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	((${#missing[@]} > 0)) || return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "packages ${missing[*]} are needed and there is no apt-get: install them by hand"
	local sudo=()
	if ! is_root; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			die "packages ${missing[*]} are needed: run 'sudo apt-get install ${missing[*]}' and retry"
		fi
	fi
	mkdir -p "$SERVICES_DIR"
	local apt_log=$SERVICES_DIR/apt.log
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" apt-get -q -y
		-o DPkg::Lock::Timeout=120 -o Dpkg::Use-Pty=0
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	local start=$SECONDS
	if ((APT_UPDATED == 0)); then
		log "apt-get update (to install ${missing[*]})"
		"${apt[@]}" update </dev/null >"$apt_log" 2>&1 || {
			log_tail "$apt_log"
			die "apt-get update failed (exit above; full log in $apt_log)"
		}
		APT_UPDATED=1
	fi
	log "installing Debian packages: ${missing[*]}"
	"${apt[@]}" install --no-install-recommends "${missing[@]}" </dev/null >>"$apt_log" 2>&1 || {
		log_tail "$apt_log"
		die "apt-get install ${missing[*]} failed or ran past ${APT_TIMEOUT}s (full log in $apt_log)"
	}
	log "installed ${missing[*]} in $((SECONDS - start))s"
}

# use_external_tcp SERVICE VARIABLE: the server in $VARIABLE (scheme://[user@]host:port[/...])
# is used as it is when it accepts TCP connections; otherwise the script stops, saying so.
use_external_tcp() {
	local name=$1 var=$2 hostport
	hostport=${!var#*://}
	hostport=${hostport##*@}
	hostport=${hostport%%/*}
	if (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null; then
		log "$name: using the server in $var (nothing started)"
		return 0
	fi
	die "$name: $var is set but $hostport does not accept connections; fix the URL or unset it to use a local server"
}

# Run "$@" until it succeeds or TIMEOUT seconds pass. Returns 1 on timeout.
wait_until() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
#
# A private cluster: data in $GPUFLEET_SERVICES_DIR/postgres/data, log in .../postgres/server.log,
# TCP on 127.0.0.1:$GPUFLEET_POSTGRES_PORT (default 55432), no Unix socket, password auth.
# Test credentials: user gpufleet / password gpufleet (CREATEDB, so tests may create databases),
# database gpufleet_test. Durability is traded for speed (fsync=off): this is test data.
#
# PostgreSQL refuses to run as root. As root it runs as the `postgres` user; when that user cannot
# reach the services directory (root's home is usually mode 700) the cluster lives in
# /var/lib/gpufleet/services-<hash>/postgres and $GPUFLEET_SERVICES_DIR/postgres is a symlink to it.

PG_PORT=${GPUFLEET_POSTGRES_PORT:-55432}
PG_TEST_USER=gpufleet
PG_TEST_PASSWORD=gpufleet
PG_TEST_DB=gpufleet_test

postgres_local_url() {
	printf 'postgres://%s:%s@127.0.0.1:%s/%s' "$PG_TEST_USER" "$PG_TEST_PASSWORD" "$PG_PORT" "$PG_TEST_DB"
}

# True when GPUFLEET_TEST_POSTGRES_URL names a server this script does not manage.
postgres_external() {
	[[ -n ${GPUFLEET_TEST_POSTGRES_URL:-} && $GPUFLEET_TEST_POSTGRES_URL != "$(postgres_local_url)" ]]
}

postgres_env() {
	local url
	if postgres_external; then url=$GPUFLEET_TEST_POSTGRES_URL; else url=$(postgres_local_url); fi
	printf 'export GPUFLEET_TEST_POSTGRES_URL=%s\n' "$(shell_quote "$url")"
}

# Sets PG_USER and the as_pg runner: PostgreSQL runs as the caller, or as `postgres` under root.
postgres_user() {
	if is_root; then
		PG_USER=postgres
		getent passwd postgres >/dev/null ||
			die "user 'postgres' does not exist (the postgresql package creates it)"
		command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to start PostgreSQL as root"
	else
		PG_USER=$(id -un)
	fi
}
as_pg() {
	if is_root; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

# Sets PG_BIN to the server's bin directory, installing PostgreSQL when no server is found.
# An existing cluster needs the major version that created it.
postgres_find_bin() {
	local want=""
	if [[ -n ${PG_DATA:-} && -f $PG_DATA/PG_VERSION ]]; then
		want=$(<"$PG_DATA/PG_VERSION")
	fi
	PG_BIN=""
	if [[ -n ${GPUFLEET_POSTGRES_BINDIR:-} ]]; then
		PG_BIN=$GPUFLEET_POSTGRES_BINDIR
	elif [[ -n $want ]]; then
		[[ -x /usr/lib/postgresql/$want/bin/postgres ]] && PG_BIN=/usr/lib/postgresql/$want/bin
	else
		local d
		while read -r d; do
			[[ -x $d/postgres && -x $d/initdb && -x $d/pg_ctl ]] && PG_BIN=$d
		done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
	fi
	if [[ -z $PG_BIN && -z $want ]]; then
		# Other layouts (e.g. a distribution that puts the server on PATH).
		local p
		p=$(command -v initdb 2>/dev/null || true)
		[[ -n $p && -x $(dirname "$p")/postgres ]] && PG_BIN=$(dirname "$p")
	fi
	if [[ -z $PG_BIN ]]; then
		if [[ -n $want ]]; then
			ensure_packages "postgresql-$want"
			PG_BIN=/usr/lib/postgresql/$want/bin
		else
			ensure_packages postgresql
			PG_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
		fi
	fi
	[[ -x $PG_BIN/postgres && -x $PG_BIN/pg_ctl && -x $PG_BIN/psql && -x $PG_BIN/pg_isready ]] ||
		die "no usable PostgreSQL server in '$PG_BIN' (set GPUFLEET_POSTGRES_BINDIR to its bin directory)"
}

# Sets PG_DIR (real path), PG_DATA, PG_LOG, PG_PWFILE; creates the directory when CREATE=1.
postgres_dirs() {
	local create=${1:-0} link=$SERVICES_DIR/postgres real
	if [[ -L $link ]]; then
		real=$(readlink "$link")
	elif [[ -d $link || $create == 0 ]] || ! is_root; then
		real=$link
	else
		mkdir -p "$SERVICES_DIR"
		if runuser -u "$PG_USER" -- test -x "$SERVICES_DIR" 2>/dev/null; then
			real=$link
		else
			local key
			key=$(cd "$SERVICES_DIR" && pwd -P | sha256sum | cut -c1-12)
			real=/var/lib/gpufleet/services-$key/postgres
			log "user $PG_USER cannot reach $SERVICES_DIR: keeping the cluster in $real (linked from $link)"
			mkdir -p "$(dirname "$real")"
			ln -s "$real" "$link"
		fi
	fi
	if [[ $create == 1 ]]; then
		mkdir -p "$real"
		if is_root; then chown "$PG_USER:" "$real"; fi
		chmod 700 "$real"
		as_pg test -w "$real" || die "user $PG_USER cannot write $real"
	fi
	PG_DIR=$real
	PG_DATA=$real/data
	PG_LOG=$real/server.log
	PG_PWFILE=$real/superuser-password
}

# Prints the postmaster's pid when our cluster is running. A postmaster.pid left by a killed
# server or a reboot (the pid gone, or reused by another program) does not count.
postgres_pid() {
	local pidfile=$PG_DATA/postmaster.pid pid cwd
	[[ -r $pidfile ]] || return 1
	read -r pid <"$pidfile" || return 1
	[[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres* ]] || return 1
	cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
	[[ $cwd == "$(cd "$PG_DATA" && pwd -P)" ]] || return 1
	printf '%s\n' "$pid"
}

postgres_admin_psql() {
	PGPASSWORD=$(<"$PG_PWFILE") PGCONNECT_TIMEOUT=5 timeout 60 \
		"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

postgres_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 >/dev/null 2>&1; }

postgres_check_external() {
	local url=$GPUFLEET_TEST_POSTGRES_URL psql
	psql=$(command -v psql 2>/dev/null || true)
	if [[ -z $psql ]]; then
		log "postgres: using GPUFLEET_TEST_POSTGRES_URL as given (no psql here to check it)"
		return 0
	fi
	if PGCONNECT_TIMEOUT=5 timeout 30 "$psql" -X -q -w -At "$url" -c 'select 1' >/dev/null 2>"$SERVICES_DIR/postgres-check.log"; then
		log "postgres: using the server in GPUFLEET_TEST_POSTGRES_URL (nothing started)"
	else
		log_tail "$SERVICES_DIR/postgres-check.log" 5
		die "postgres: GPUFLEET_TEST_POSTGRES_URL is set but 'select 1' fails there; fix the URL or unset it to use a local server"
	fi
}

# Creates the cluster in $PG_DATA when there is none.
postgres_init() {
	[[ -f $PG_DATA/PG_VERSION ]] && return 0
	local start=$SECONDS
	log "postgres: creating a cluster in $PG_DATA"
	rm -rf "$PG_DATA"
	(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$PG_PWFILE")
	if is_root; then chown "$PG_USER:" "$PG_PWFILE"; fi
	as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --pwfile="$PG_PWFILE" -E UTF8 --locale=C.UTF-8 \
		--auth-host=scram-sha-256 --auth-local=peer >"$PG_DIR/initdb.log" 2>&1 || {
		log_tail "$PG_DIR/initdb.log"
		die "postgres: initdb failed (log: $PG_DIR/initdb.log)"
	}
	as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<-'EOF'

		# gpufleet test cluster: disposable data, tuned for speed.
		listen_addresses = '127.0.0.1'
		unix_socket_directories = ''
		max_connections = 200
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		log_min_messages = warning
		log_line_prefix = '%m [%p] %q%u@%d '
	EOF
	log "postgres: cluster created in $((SECONDS - start))s"
}

postgres_alive() { postgres_pid >/dev/null; }

# Starts the cluster unless it runs, and waits until it accepts connections. Returns 1 when the
# server exits during start-up (e.g. damaged data); dies on other problems.
postgres_start() {
	local pid
	if pid=$(postgres_pid); then
		log "postgres: already running (pid $pid)"
	else
		if [[ -e $PG_DATA/postmaster.pid ]]; then
			log "postgres: removing stale postmaster.pid (its server is not running)"
			rm -f "$PG_DATA/postmaster.pid"
		fi
		if port_in_use "$PG_PORT"; then
			die "postgres: 127.0.0.1:$PG_PORT is taken by another program; stop it, or set GPUFLEET_POSTGRES_PORT to a free port"
		fi
		# Keep the log from growing without bound across many runs.
		if [[ -f $PG_LOG ]] && (($(stat -c %s "$PG_LOG") > 10485760)); then
			as_pg mv -f "$PG_LOG" "$PG_LOG.old"
		fi
		log "postgres: starting on 127.0.0.1:$PG_PORT ($PG_BIN)"
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -W -s \
			-o "-c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start \
			</dev/null >/dev/null 2>&1 9>&- || return 1
		# pg_ctl -W returns at once; give the postmaster a moment to write its pid file.
		wait_until 5 postgres_alive || return 1
	fi
	local deadline=$((SECONDS + READY_TIMEOUT))
	until postgres_ready; do
		postgres_alive || return 1
		if ((SECONDS >= deadline)); then
			log_tail "$PG_LOG"
			die "postgres: not accepting connections on 127.0.0.1:$PG_PORT after ${READY_TIMEOUT}s (log: $PG_LOG; to start afresh: scripts/services.sh reset postgres)"
		fi
		sleep 0.2
	done
}

postgres_up() {
	if postgres_external; then
		mkdir -p "$SERVICES_DIR"
		postgres_check_external
		return 0
	fi
	postgres_user
	postgres_dirs 1
	postgres_find_bin
	postgres_init
	if ! postgres_start; then
		# The data is disposable (fsync is off, so a machine crash can damage it): start afresh once.
		log_tail "$PG_LOG"
		log "postgres: the server in $PG_DATA exited while starting; re-creating the cluster (test data only)"
		rm -rf "$PG_DATA"
		postgres_init
		postgres_start || {
			log_tail "$PG_LOG"
			die "postgres: the server exited while starting, even with a new cluster (log: $PG_LOG)"
		}
	fi
	local pid
	pid=$(postgres_pid) || {
		log_tail "$PG_LOG"
		die "postgres: something answers on 127.0.0.1:$PG_PORT but it is not the cluster in $PG_DATA; set GPUFLEET_POSTGRES_PORT to a free port"
	}

	postgres_admin_psql -f - <<-EOF || die "postgres: could not create the test user and database (log: $PG_LOG)"
		DO \$\$ BEGIN
		  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_TEST_USER') THEN
		    CREATE ROLE $PG_TEST_USER LOGIN;
		  END IF;
		END \$\$;
		ALTER ROLE $PG_TEST_USER LOGIN CREATEDB PASSWORD '$PG_TEST_PASSWORD';
		SELECT 'CREATE DATABASE $PG_TEST_DB OWNER $PG_TEST_USER'
		  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_TEST_DB') \gexec
	EOF
	log "postgres: ready (pid $pid) at $(postgres_local_url)"
}

postgres_down() {
	postgres_user
	postgres_dirs 0
	[[ -d $PG_DATA ]] || {
		log "postgres: no cluster in $PG_DATA"
		return 0
	}
	local pid
	if ! pid=$(postgres_pid); then
		log "postgres: not running"
		[[ -e $PG_DATA/postmaster.pid ]] && rm -f "$PG_DATA/postmaster.pid"
		return 0
	fi
	postgres_find_bin
	log "postgres: stopping (pid $pid)"
	if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$READY_TIMEOUT" -s stop </dev/null >/dev/null 2>&1; then
		log "postgres: fast shutdown took over ${READY_TIMEOUT}s; stopping immediately"
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t "$READY_TIMEOUT" -s stop </dev/null >/dev/null 2>&1 || {
			log_tail "$PG_LOG"
			die "postgres: could not stop pid $pid"
		}
	fi
	log "postgres: stopped"
}

postgres_status() {
	if postgres_external; then
		echo "postgres: external  $GPUFLEET_TEST_POSTGRES_URL (GPUFLEET_TEST_POSTGRES_URL)"
		return 0
	fi
	postgres_user
	postgres_dirs 0
	local pid
	if pid=$(postgres_pid); then
		echo "postgres: running   pid $pid  $(postgres_local_url)  data $PG_DATA"
	else
		echo "postgres: stopped   data $PG_DATA"
		return 3
	fi
}

postgres_reset() {
	postgres_down
	postgres_dirs 0
	local link=$SERVICES_DIR/postgres
	log "postgres: deleting $PG_DIR"
	rm -rf "$PG_DIR"
	[[ -L $link ]] && rm -f "$link"
	return 0
}

# ---------------------------------------------------------------------------------------------
# NATS (JetStream)
#
# A private nats-server with JetStream: 127.0.0.1:$GPUFLEET_NATS_PORT (default 54222), store in
# $GPUFLEET_SERVICES_DIR/nats/jetstream, log in .../nats/server.log, no authentication.
# The binary, first found wins: $GPUFLEET_NATS_SERVER_BIN; a current nats-server built once per
# machine with `go install` into $GPUFLEET_TOOLS_DIR (default ~/.cache/gpufleet/tools) when `go` is
# on PATH; Debian's `nats-server` package (2.9.10). Tests that restart the server start their own
# from GPUFLEET_TEST_NATS_SERVER (exported with the URL).

NATS_PORT=${GPUFLEET_NATS_PORT:-54222}
NATS_VERSION=${GPUFLEET_NATS_VERSION:-v2.15.3}
TOOLS_DIR=${GPUFLEET_TOOLS_DIR:-$HOME/.cache/gpufleet/tools}
GO_TIMEOUT=${GPUFLEET_GO_TIMEOUT:-900}

nats_local_url() { printf 'nats://127.0.0.1:%s' "$NATS_PORT"; }

# True when GPUFLEET_TEST_NATS_URL names a server this script does not manage.
nats_external() {
	[[ -n ${GPUFLEET_TEST_NATS_URL:-} && $GPUFLEET_TEST_NATS_URL != "$(nats_local_url)" ]]
}

nats_dirs() {
	NATS_DIR=$SERVICES_DIR/nats
	NATS_CONF=$NATS_DIR/nats.conf
	NATS_LOG=$NATS_DIR/server.log
	NATS_PIDFILE=$NATS_DIR/nats.pid
	NATS_STORE=$NATS_DIR/jetstream
}

# Prints the path of a nats-server binary without installing anything; fails when there is none.
nats_existing_bin() {
	local b
	for b in "${GPUFLEET_NATS_SERVER_BIN:-}" "$TOOLS_DIR/nats-server-$NATS_VERSION/nats-server" \
		"$(command -v nats-server 2>/dev/null || true)" /usr/bin/nats-server; do
		if [[ -n $b && -x $b ]]; then
			printf '%s\n' "$b"
			return 0
		fi
	done
	return 1
}

# Sets NATS_BIN, building or installing nats-server when none is found.
nats_find_bin() {
	if NATS_BIN=$(nats_existing_bin); then return 0; fi
	local dest=$TOOLS_DIR/nats-server-$NATS_VERSION
	if command -v go >/dev/null 2>&1; then
		local start=$SECONDS tmp=$dest.tmp.$$
		log "nats: building nats-server $NATS_VERSION with go install (once per machine; about 2 min)"
		mkdir -p "$tmp"
		if GOBIN=$tmp GOFLAGS=-mod=mod timeout "$GO_TIMEOUT" nice -n 10 \
			go install "github.com/nats-io/nats-server/v2@$NATS_VERSION" >"$tmp.log" 2>&1; then
			mkdir -p "$dest"
			mv -f "$tmp/nats-server" "$dest/nats-server"
			rm -rf "$tmp" "$tmp.log"
			log "nats: built nats-server $NATS_VERSION in $((SECONDS - start))s into $dest"
			NATS_BIN=$dest/nats-server
			return 0
		fi
		log_tail "$tmp.log"
		rm -rf "$tmp"
		log "nats: go install failed; falling back to Debian's nats-server"
	fi
	ensure_packages nats-server
	NATS_BIN=/usr/bin/nats-server
	[[ -x $NATS_BIN ]] || die "nats: no nats-server binary (set GPUFLEET_NATS_SERVER_BIN)"
}

# Prints the server's pid when our nats-server runs.
nats_pid() {
	local pid
	[[ -r $NATS_PIDFILE ]] || return 1
	# nats-server writes the pid without a trailing newline.
	pid=$(<"$NATS_PIDFILE")
	[[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == nats-server* ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$NATS_CONF" || return 1
	printf '%s\n' "$pid"
}

nats_alive() { nats_pid >/dev/null; }
nats_ready() { nats_alive && port_in_use "$NATS_PORT" && grep -q 'Server is ready' "$NATS_LOG"; }

nats_env() {
	local url bin
	if nats_external; then url=$GPUFLEET_TEST_NATS_URL; else url=$(nats_local_url); fi
	printf 'export GPUFLEET_TEST_NATS_URL=%s\n' "$(shell_quote "$url")"
	if bin=$(nats_existing_bin); then
		printf 'export GPUFLEET_TEST_NATS_SERVER=%s\n' "$(shell_quote "$bin")"
	fi
}

nats_up() {
	mkdir -p "$SERVICES_DIR"
	if nats_external; then
		use_external_tcp nats GPUFLEET_TEST_NATS_URL
		return 0
	fi
	nats_find_bin
	nats_dirs
	mkdir -p "$NATS_DIR" "$NATS_STORE"
	local pid
	if pid=$(nats_pid); then
		log "nats: already running (pid $pid)"
	else
		port_in_use "$NATS_PORT" &&
			die "nats: 127.0.0.1:$NATS_PORT is taken by another program; stop it, or set GPUFLEET_NATS_PORT to a free port"
		cat >"$NATS_CONF" <<-EOF
			# gpufleet test server; written by scripts/services.sh.
			listen: "127.0.0.1:$NATS_PORT"
			server_name: gpufleet_test
			pid_file: "$NATS_PIDFILE"
			max_payload: 8MB
			jetstream {
			  store_dir: "$NATS_STORE"
			  max_memory_store: 256MB
			  max_file_store: 4GB
			}
		EOF
		if [[ -f $NATS_LOG ]] && (($(stat -c %s "$NATS_LOG") > 10485760)); then
			mv -f "$NATS_LOG" "$NATS_LOG.old"
		fi
		: >"$NATS_LOG"
		rm -f "$NATS_PIDFILE"
		log "nats: starting on 127.0.0.1:$NATS_PORT ($NATS_BIN)"
		nohup "$NATS_BIN" -c "$NATS_CONF" -js >>"$NATS_LOG" 2>&1 </dev/null 9>&- &
		disown || true
	fi
	wait_until "$READY_TIMEOUT" nats_ready || {
		log_tail "$NATS_LOG"
		die "nats: not ready on 127.0.0.1:$NATS_PORT after ${READY_TIMEOUT}s (log: $NATS_LOG; to start afresh: scripts/services.sh reset nats)"
	}
	log "nats: ready (pid $(nats_pid)) at $(nats_local_url)"
}

nats_down() {
	nats_dirs
	local pid
	if ! pid=$(nats_pid); then
		log "nats: not running"
		rm -f "$NATS_PIDFILE"
		return 0
	fi
	log "nats: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until "$READY_TIMEOUT" eval '! nats_alive'; then
		log "nats: still running after ${READY_TIMEOUT}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_until 5 eval '! nats_alive' || die "nats: could not stop pid $pid"
	fi
	rm -f "$NATS_PIDFILE"
	log "nats: stopped"
}

nats_status() {
	if nats_external; then
		echo "nats: external  $GPUFLEET_TEST_NATS_URL (GPUFLEET_TEST_NATS_URL)"
		return 0
	fi
	nats_dirs
	local pid
	if pid=$(nats_pid); then
		echo "nats: running   pid $pid  $(nats_local_url)  store $NATS_STORE"
	else
		echo "nats: stopped   store $NATS_STORE"
		return 3
	fi
}

nats_reset() {
	nats_down
	nats_dirs
	log "nats: deleting $NATS_DIR"
	rm -rf "$NATS_DIR"
}

# ---------------------------------------------------------------------------------------------
# Redis
#
# Debian's redis-server (7.0) on 127.0.0.1:$GPUFLEET_REDIS_PORT (default 56379), no Unix socket,
# no password (loopback only), data and log in $GPUFLEET_SERVICES_DIR/redis. Tests write under
# key prefixes of their own, so one server serves every test run.

REDIS_PORT=${GPUFLEET_REDIS_PORT:-56379}

redis_local_url() { printf 'redis://127.0.0.1:%s/0' "$REDIS_PORT"; }

# True when GPUFLEET_TEST_REDIS_URL names a server this script does not manage.
redis_external() {
	[[ -n ${GPUFLEET_TEST_REDIS_URL:-} && $GPUFLEET_TEST_REDIS_URL != "$(redis_local_url)" ]]
}

redis_dirs() {
	REDIS_DIR=$SERVICES_DIR/redis
	REDIS_CONF=$REDIS_DIR/redis.conf
	REDIS_LOG=$REDIS_DIR/server.log
	REDIS_PIDFILE=$REDIS_DIR/redis.pid
}

redis_find_bin() {
	REDIS_BIN=${GPUFLEET_REDIS_SERVER_BIN:-$(command -v redis-server 2>/dev/null || true)}
	if [[ -z $REDIS_BIN || ! -x $REDIS_BIN ]]; then
		ensure_packages redis-server
		REDIS_BIN=/usr/bin/redis-server
	fi
	[[ -x $REDIS_BIN ]] || die "redis: no redis-server binary (set GPUFLEET_REDIS_SERVER_BIN)"
}

# Prints the server's pid when our redis-server runs.
redis_pid() {
	local pid
	[[ -r $REDIS_PIDFILE ]] || return 1
	read -r pid <"$REDIS_PIDFILE" || return 1
	[[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
	printf '%s\n' "$pid"
}

redis_alive() { redis_pid >/dev/null; }

# True when the server answers PING with PONG.
redis_ready() {
	redis_alive || return 1
	local reply
	exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" 2>/dev/null || return 1
	printf 'PING\r\n' >&3
	IFS= read -r -t 1 reply <&3 || reply=
	exec 3>&-
	[[ $reply == "+PONG"* ]]
}

redis_env() {
	local url
	if redis_external; then url=$GPUFLEET_TEST_REDIS_URL; else url=$(redis_local_url); fi
	printf 'export GPUFLEET_TEST_REDIS_URL=%s\n' "$(shell_quote "$url")"
}

redis_up() {
	mkdir -p "$SERVICES_DIR"
	if redis_external; then
		use_external_tcp redis GPUFLEET_TEST_REDIS_URL
		return 0
	fi
	redis_find_bin
	redis_dirs
	mkdir -p "$REDIS_DIR"
	local pid
	if pid=$(redis_pid); then
		log "redis: already running (pid $pid)"
	else
		port_in_use "$REDIS_PORT" &&
			die "redis: 127.0.0.1:$REDIS_PORT is taken by another program; stop it, or set GPUFLEET_REDIS_PORT to a free port"
		cat >"$REDIS_CONF" <<-EOF
			# gpufleet test server; written by scripts/services.sh.
			bind 127.0.0.1
			port $REDIS_PORT
			unixsocket ""
			protected-mode yes
			daemonize no
			pidfile $REDIS_PIDFILE
			logfile $REDIS_LOG
			dir $REDIS_DIR
			save ""
			appendonly no
			maxmemory 1gb
			maxmemory-policy noeviction
		EOF
		rm -f "$REDIS_PIDFILE"
		log "redis: starting on 127.0.0.1:$REDIS_PORT ($REDIS_BIN)"
		nohup "$REDIS_BIN" "$REDIS_CONF" >>"$REDIS_DIR/stdout.log" 2>&1 </dev/null 9>&- &
		disown || true
	fi
	wait_until "$READY_TIMEOUT" redis_ready || {
		log_tail "$REDIS_LOG"
		die "redis: not ready on 127.0.0.1:$REDIS_PORT after ${READY_TIMEOUT}s (log: $REDIS_LOG; to start afresh: scripts/services.sh reset redis)"
	}
	log "redis: ready (pid $(redis_pid)) at $(redis_local_url)"
}

redis_down() {
	redis_dirs
	local pid
	if ! pid=$(redis_pid); then
		log "redis: not running"
		rm -f "$REDIS_PIDFILE"
		return 0
	fi
	log "redis: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until "$READY_TIMEOUT" eval '! redis_alive'; then
		log "redis: still running after ${READY_TIMEOUT}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_until 5 eval '! redis_alive' || die "redis: could not stop pid $pid"
	fi
	rm -f "$REDIS_PIDFILE"
	log "redis: stopped"
}

redis_status() {
	if redis_external; then
		echo "redis: external  $GPUFLEET_TEST_REDIS_URL (GPUFLEET_TEST_REDIS_URL)"
		return 0
	fi
	redis_dirs
	local pid
	if pid=$(redis_pid); then
		echo "redis: running   pid $pid  $(redis_local_url)"
	else
		echo "redis: stopped   data $REDIS_DIR"
		return 3
	fi
}

redis_reset() {
	redis_down
	redis_dirs
	log "redis: deleting $REDIS_DIR"
	rm -rf "$REDIS_DIR"
}

# ---------------------------------------------------------------------------------------------
# InfluxDB
#
# Debian's influxdb (1.6.7) on 127.0.0.1:$GPUFLEET_INFLUX_PORT (default 58086), its RPC port one
# above, no authentication (loopback only), usage reporting off, data and log in
# $GPUFLEET_SERVICES_DIR/influxdb. Tests write into databases of their own, so one server
# serves every test run.

INFLUX_PORT=${GPUFLEET_INFLUX_PORT:-58086}

influx_local_url() { printf 'http://127.0.0.1:%s' "$INFLUX_PORT"; }

# True when GPUFLEET_TEST_INFLUX_URL names a server this script does not manage.
influxdb_external() {
	[[ -n ${GPUFLEET_TEST_INFLUX_URL:-} && $GPUFLEET_TEST_INFLUX_URL != "$(influx_local_url)" ]]
}

influxdb_dirs() {
	INFLUX_DIR=$SERVICES_DIR/influxdb
	INFLUX_CONF=$INFLUX_DIR/influxdb.conf
	INFLUX_LOG=$INFLUX_DIR/server.log
	INFLUX_PIDFILE=$INFLUX_DIR/influxd.pid
}

influxdb_find_bin() {
	INFLUX_BIN=${GPUFLEET_INFLUXD_BIN:-$(command -v influxd 2>/dev/null || true)}
	if [[ -z $INFLUX_BIN || ! -x $INFLUX_BIN ]]; then
		ensure_packages influxdb
		INFLUX_BIN=/usr/bin/influxd
	fi
	[[ -x $INFLUX_BIN ]] || die "influxdb: no influxd binary (set GPUFLEET_INFLUXD_BIN)"
}

# Prints the server's pid when our influxd runs.
influxdb_pid() {
	local pid
	[[ -r $INFLUX_PIDFILE ]] || return 1
	# influxd writes its pid without a newline.
	read -r pid <"$INFLUX_PIDFILE" || [[ -n $pid ]] || return 1
	[[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == influxd* ]] || return 1
	printf '%s\n' "$pid"
}

influxdb_alive() { influxdb_pid >/dev/null; }

# True when GET /ping answers 204.
influxdb_ready() {
	influxdb_alive || return 1
	local status
	exec 3<>"/dev/tcp/127.0.0.1/$INFLUX_PORT" 2>/dev/null || return 1
	printf 'GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	IFS= read -r -t 1 status <&3 || status=
	exec 3>&-
	[[ $status == "HTTP/1."?" 204"* ]]
}

influxdb_env() {
	local url
	if influxdb_external; then url=$GPUFLEET_TEST_INFLUX_URL; else url=$(influx_local_url); fi
	printf 'export GPUFLEET_TEST_INFLUX_URL=%s\n' "$(shell_quote "$url")"
}

influxdb_up() {
	mkdir -p "$SERVICES_DIR"
	if influxdb_external; then
		use_external_tcp influxdb GPUFLEET_TEST_INFLUX_URL
		return 0
	fi
	influxdb_find_bin
	influxdb_dirs
	mkdir -p "$INFLUX_DIR"
	local pid
	if pid=$(influxdb_pid); then
		log "influxdb: already running (pid $pid)"
	else
		local p
		for p in "$INFLUX_PORT" $((INFLUX_PORT + 1)); do
			port_in_use "$p" &&
				die "influxdb: 127.0.0.1:$p is taken by another program; stop it, or set GPUFLEET_INFLUX_PORT to a free port (it uses that port and the next)"
		done
		cat >"$INFLUX_CONF" <<-EOF
			# gpufleet test server; written by scripts/services.sh.
			reporting-disabled = true
			bind-address = "127.0.0.1:$((INFLUX_PORT + 1))"
			[meta]
			  dir = "$INFLUX_DIR/meta"
			[data]
			  dir = "$INFLUX_DIR/data"
			  wal-dir = "$INFLUX_DIR/wal"
			  query-log-enabled = false
			[http]
			  enabled = true
			  bind-address = "127.0.0.1:$INFLUX_PORT"
			  log-enabled = false
			[monitor]
			  store-enabled = false
		EOF
		log "influxdb: starting on 127.0.0.1:$INFLUX_PORT ($INFLUX_BIN)"
		nohup "$INFLUX_BIN" -config "$INFLUX_CONF" -pidfile "$INFLUX_PIDFILE" >>"$INFLUX_LOG" 2>&1 </dev/null 9>&- &
		disown || true
	fi
	wait_until "$READY_TIMEOUT" influxdb_ready || {
		log_tail "$INFLUX_LOG"
		die "influxdb: not ready on 127.0.0.1:$INFLUX_PORT after ${READY_TIMEOUT}s (log: $INFLUX_LOG; to start afresh: scripts/services.sh reset influxdb)"
	}
	log "influxdb: ready (pid $(influxdb_pid)) at $(influx_local_url)"
}

influxdb_down() {
	influxdb_dirs
	local pid
	if ! pid=$(influxdb_pid); then
		log "influxdb: not running"
		rm -f "$INFLUX_PIDFILE"
		return 0
	fi
	log "influxdb: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until "$READY_TIMEOUT" eval '! influxdb_alive'; then
		log "influxdb: still running after ${READY_TIMEOUT}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_until 5 eval '! influxdb_alive' || die "influxdb: could not stop pid $pid"
	fi
	rm -f "$INFLUX_PIDFILE"
	log "influxdb: stopped"
}

influxdb_status() {
	if influxdb_external; then
		echo "influxdb: external  $GPUFLEET_TEST_INFLUX_URL (GPUFLEET_TEST_INFLUX_URL)"
		return 0
	fi
	influxdb_dirs
	local pid
	if pid=$(influxdb_pid); then
		echo "influxdb: running   pid $pid  $(influx_local_url)"
	else
		echo "influxdb: stopped   data $INFLUX_DIR"
		return 3
	fi
}

influxdb_reset() {
	influxdb_down
	influxdb_dirs
	log "influxdb: deleting $INFLUX_DIR"
	rm -rf "$INFLUX_DIR"
}

# ---------------------------------------------------------------------------------------------
# Dispatch

write_env_file() {
	mkdir -p "$SERVICES_DIR"
	local tmp=$ENV_FILE.tmp.$$ svc
	{
		echo "# gpufleet test services; written by scripts/services.sh up. Source this file."
		for svc in "${ALL_SERVICES[@]}"; do "${svc}_env"; done
	} >"$tmp"
	mv -f "$tmp" "$ENV_FILE"
}

# Serialises up/down/reset on one services directory. Daemons must be started with `9>&-` so that
# they do not inherit (and hold) the lock.
with_lock() {
	mkdir -p "$SERVICES_DIR"
	exec 9>"$SERVICES_DIR/.lock"
	flock -w 300 9 || die "another scripts/services.sh has held $SERVICES_DIR/.lock for 300s"
}

usage() {
	sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	(($# >= 1)) || usage
	local cmd=$1 svc rc=0
	shift
	if [[ $cmd == packages ]]; then
		(($# >= 1)) || usage
		with_lock
		ensure_packages "$@"
		return 0
	fi
	local services=("$@")
	((${#services[@]} > 0)) || services=("${ALL_SERVICES[@]}")
	for svc in "${services[@]}"; do
		[[ " ${ALL_SERVICES[*]} " == *" $svc "* ]] || die "unknown service '$svc' (known: ${ALL_SERVICES[*]})"
	done
	case $cmd in
	up)
		with_lock
		for svc in "${services[@]}"; do "${svc}_up"; done
		write_env_file
		log "exports written to $ENV_FILE"
		for svc in "${services[@]}"; do "${svc}_env"; done
		;;
	down | reset)
		with_lock
		for svc in "${services[@]}"; do "${svc}_${cmd}"; done
		;;
	status)
		for svc in "${services[@]}"; do "${svc}_status" || rc=3; done
		return "$rc"
		;;
	env)
		for svc in "${services[@]}"; do "${svc}_env"; done
		;;
	-h | --help | help) usage ;;
	*) die "unknown command '$cmd' (use up, down, status, env, reset or packages)" ;;
	esac
}

main "$@"
