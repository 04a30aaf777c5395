#!/usr/bin/env bash
# Runs CI's command (`CI=true bash .ci/run`) as on a machine that has never run the project, as
# closely as this machine allows, and prints how long it took:
#
#   scripts/fresh-machine.sh [--runs N] [--keep] [--dir DIR] [COMMIT]
#
# In a scratch directory (--dir, default a new /var/tmp/gpufleet-fresh.XXXXXX) it makes a fresh
# HOME (so empty ~/.cache: no cargo target directory, Python venv, pip or Go module cache,
# nats-server or Tinkerbell build, service data), a fresh TMPDIR, and a fresh clone of COMMIT
# (default HEAD) of this repository with a copy of shared/ beside it, as CI lays it out; then
# runs `CI=true bash .ci/run` there with no standard input. The services it starts use ports of
# their own (PostgreSQL, NATS, Redis, InfluxDB and the Tinkerbell control plane:
# GPUFLEET_POSTGRES_PORT, GPUFLEET_NATS_PORT, GPUFLEET_REDIS_PORT, GPUFLEET_INFLUX_PORT,
# GPUFLEET_TINK_PORT_BASE), so nothing collides with the ones already
# running here. With --runs N it runs N times in a row, each in a new clone with the same HOME:
# the first run is cold, the later ones warm.
#
# Machine-provided toolchains are kept: CARGO_HOME and RUSTUP_HOME (the crates.io registry
# cache is part of CARGO_HOME, so crates are not downloaded again), Go, Python, and Debian
# packages already installed (apt-get only installs what is missing). Everything else CI's
# command builds or downloads into ~/.cache is built from nothing.
#
# At the end it stops the services and control plane it started, and deletes the scratch
# directory unless --keep is given or a run failed. Logs: DIR/run-N.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=1
KEEP=0
DIR=""
COMMIT=HEAD
while (($#)); do
	case $1 in
	--runs) RUNS=$2 && shift 2 ;;
	--keep) KEEP=1 && shift ;;
	--dir) DIR=$2 && shift 2 ;;
	-h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	-*) echo "fresh-machine: unknown option $1" >&2 && exit 2 ;;
	*) COMMIT=$1 && shift ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "fresh-machine: --runs needs a positive number" >&2 && exit 2; }

log() { printf 'fresh-machine: %s\n' "$*" >&2; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

SHA=$(git -C "$ROOT" rev-parse --verify "$COMMIT^{commit}")
REAL_HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
if [[ -z $DIR ]]; then
	DIR=$(mktemp -d /var/tmp/gpufleet-fresh.XXXXXX)
else
	mkdir -p "$DIR"
fi
DIR=$(cd "$DIR" && pwd)
FRESH_HOME=$DIR/home
mkdir -p "$FRESH_HOME" "$DIR/tmp"

# Ports nobody on this machine listens on now: the first free base from a few candidates.
pick_port() {
	local p
	for p in "$@"; do
		port_in_use "$p" || {
			echo "$p"
			return 0
		}
	done
	log "no free port among $*"
	exit 1
}
PG_PORT=$(pick_port 56432 57432 58432)
NATS_PORT=$(pick_port 56222 57222 58222)
REDIS_PORT=$(pick_port 56379 57379 58379)
INFLUX_PORT=$(pick_port 58186 59186 60186)
TINK_BASE=""
for base in 43000 44000 45000 46000; do
	busy=0
	for off in 113 114 180 181 182 183 379 380 443; do
		if port_in_use $((base + off)); then busy=1 && break; fi
	done
	if ((busy == 0)); then TINK_BASE=$base && break; fi
done
[[ -n $TINK_BASE ]] || { log "no free port range for the Tinkerbell control plane" && exit 1; }

# The environment CI's command gets: this one, less what points at this checkout's state.
ENVS=()
while IFS= read -r name; do
	case $name in
	GPUFLEET_* | CARGO_TARGET_DIR | CARGO_BUILD_TARGET_DIR | VIRTUAL_ENV | KUBECONFIG | GOPATH | GOCACHE | \
		GOMODCACHE | GOFLAGS | TMPDIR | HOME | XDG_* | PWD | OLDPWD | SHLVL | _) continue ;;
	esac
	ENVS+=("$name=${!name}")
done < <(compgen -e)
ENVS+=(
	"HOME=$FRESH_HOME" "TMPDIR=$DIR/tmp" "CI=true"
	"CARGO_HOME=${CARGO_HOME:-$REAL_HOME/.cargo}" "RUSTUP_HOME=${RUSTUP_HOME:-$REAL_HOME/.rustup}"
	"GPUFLEET_POSTGRES_PORT=$PG_PORT" "GPUFLEET_NATS_PORT=$NATS_PORT" "GPUFLEET_REDIS_PORT=$REDIS_PORT"
	"GPUFLEET_INFLUX_PORT=$INFLUX_PORT"
	"GPUFLEET_TINK_PORT_BASE=$TINK_BASE"
)

# Stops what the runs started (as the same fresh HOME sees it), also after a failure or Ctrl-C.
CLONE=""
cleanup() {
	local rc=$?
	if [[ -n $CLONE && -d $CLONE ]]; then
		log "stopping the services and the control plane of $FRESH_HOME"
		(cd "$CLONE" && env -i "${ENVS[@]}" bash scripts/tinkerbell.sh down) >/dev/null 2>&1 || true
		(cd "$CLONE" && env -i "${ENVS[@]}" bash scripts/services.sh reset) >/dev/null 2>&1 || true
	fi
	if ((rc == 0 && KEEP == 0)); then
		log "deleting $DIR"
		rm -rf "$DIR"
	else
		log "kept $DIR (logs: $DIR/run-*.log)"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "commit $SHA; scratch $DIR; HOME=$FRESH_HOME; ports: PostgreSQL $PG_PORT, NATS $NATS_PORT, Redis $REDIS_PORT, InfluxDB $INFLUX_PORT, Tinkerbell base $TINK_BASE"
TIMES=()
for ((i = 1; i <= RUNS; i++)); do
	# A fresh clone in a folder of its own, with shared/ copied beside it (without write bits) as
	# CI lays it out; earlier clones are removed first.
	rm -rf "$DIR/run"
	mkdir -p "$DIR/run"
	CLONE=$DIR/run/repo
	git clone -q --no-checkout "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir)" "$CLONE"
	git -C "$CLONE" checkout -q --detach "$SHA"
	if [[ -d $ROOT/../shared ]]; then
		cp -a "$ROOT/../shared" "$DIR/run/shared"
		chmod -R a-w "$DIR/run/shared"
	fi
	kind=warm
	((i == 1)) && kind=cold
	log "run $i of $RUNS ($kind): CI=true bash .ci/run in $CLONE (log: $DIR/run-$i.log)"
	start=$(date +%s)
	rc=0
	(cd "$CLONE" && env -i "${ENVS[@]}" bash .ci/run </dev/null 2>&1) | tee "$DIR/run-$i.log" || rc=$?
	took=$(($(date +%s) - start))
	TIMES+=("run $i ($kind): exit $rc in ${took}s ($((took / 60)) min $((took % 60)) s)")
	log "${TIMES[-1]}"
	# Let the next clone be removed: shared/ has no write bits.
	chmod -R u+w "$DIR/run/shared" 2>/dev/null || true
	((rc == 0)) || break
done

echo
echo "fresh-machine: commit $SHA"
printf 'fresh-machine: %s\n' "${TIMES[@]}"
echo "fresh-machine: disk used by the fresh HOME: $(du -sh "$FRESH_HOME" 2>/dev/null | cut -f1)"
((rc == 0))
