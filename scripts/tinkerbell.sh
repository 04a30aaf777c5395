#!/usr/bin/env bash
# A real Tinkerbell v0.12.2 control plane on 127.0.0.1 for gpufleet's integration tests.
#
#   scripts/tinkerbell.sh build    build (once per machine) what is missing; start nothing
#   scripts/tinkerbell.sh up       build what is missing, start everything, apply the CRDs, wait
#                                  until every piece is ready; print the exports
#   scripts/tinkerbell.sh down     stop what this script started (data is kept)
#   scripts/tinkerbell.sh status   one line per piece; exit 3 if one is not running
#   scripts/tinkerbell.sh env      print the exports (starts nothing)
#   scripts/tinkerbell.sh reset    stop and delete the etcd data (builds are kept)
#   scripts/tinkerbell.sh smoke    create the reference example Hardware/Template/Workflow and
#                                  check that tink-controller renders the Workflow (STATE_PENDING)
#   scripts/tinkerbell.sh built    exit 0 if every piece is already built here (builds nothing)
#   scripts/tinkerbell.sh test-env print the exports for the integration tests, including the
#                                  worker command when the Python environment is ready
#
# The pieces, as upstream's own end-to-end test runs them (no Docker, no kubelet):
#   etcd             Debian's etcd-server (3.4), or a Go build of etcd v3.5 where apt is missing
#   kube-apiserver   Kubernetes v1.31.x (the version of the client libraries tink v0.12.2 uses),
#                    built from the Go module proxy through a throwaway wrapper module that this
#                    script writes under the cache dir: it requires k8s.io/kubernetes and pins
#                    every k8s.io staging module it names with a `replace` to the matching v0.31.x
#   tink-server      tink v0.12.2, gRPC on 127.0.0.1:42113, backend kubernetes
#   tink-controller  tink v0.12.2 (reads KUBECONFIG from the environment)
#   rufio            Rufio v0.6.1 (the version tink v0.12.2's go.mod pins)
#   CRDs             applied from where they lie in the reference data:
#                    ${GPUFLEET_REFERENCE_DIR:-<repo>/../shared/reference}/tinkerbell/
#
# Everything lives under ${GPUFLEET_TINK_DIR:-$HOME/.cache/gpufleet/tinkerbell}: bin/ (binaries),
# go/ and gocache/ (module and build caches), src/ (generated wrapper modules), run/ (certificates,
# kubeconfig, etcd data, pid files), logs/, and `env` (the exports, written by `up`).
# Go builds run under `nice -n 10` with `-p ${GPUFLEET_TINK_GO_PARALLEL:-2}`, since other builds
# share the machine. Progress goes to stderr; stdout carries only the exports, so
# `eval "$(scripts/tinkerbell.sh up)"` works.
#
# Environment:
#   GPUFLEET_TINK_DIR            cache and state directory (see above)
#   GPUFLEET_REFERENCE_DIR       reference data directory holding tinkerbell/ (see above)
#   GPUFLEET_TINK_TIMEOUT        seconds to wait for each piece to become ready (default 60)
#   GPUFLEET_TINK_GO_PARALLEL    `go build -p` (default 2)
#   GPUFLEET_TINK_ETCD=go        build etcd from Go instead of using Debian's etcd-server
#   GPUFLEET_TINK_PORT_BASE      base of every port below (default 42000: the ports as listed)
# Ports (all on 127.0.0.1): etcd 42379 (peer 42380), kube-apiserver 42443, tink-server gRPC
# 42113 and HTTP 42114, tink-controller metrics/probes 42180/42181, rufio 42182/42183.
set -euo pipefail

if [[ -z ${HOME:-} ]]; then
	HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${GPUFLEET_TINK_DIR:-$HOME/.cache/gpufleet/tinkerbell}
REF_DIR=${GPUFLEET_REFERENCE_DIR:-$ROOT/../shared/reference}
TINK_REF=$REF_DIR/tinkerbell
READY_TIMEOUT=${GPUFLEET_TINK_TIMEOUT:-60}
GO_PARALLEL=${GPUFLEET_TINK_GO_PARALLEL:-2}
APT_TIMEOUT=${GPUFLEET_APT_TIMEOUT:-900}
BUILD_LOCK_TIMEOUT=${GPUFLEET_TINK_BUILD_LOCK_TIMEOUT:-3600}

K8S_VERSION=v1.31.3      # k8s.io/* v0.31.3 is what tink v0.12.2 and rufio v0.6.1 require
TINK_VERSION=v0.12.2
RUFIO_VERSION=v0.6.1
ETCD_GO_VERSION=v3.5.17

# Every port is GPUFLEET_TINK_PORT_BASE (default 42000) plus a fixed offset, so a second control
# plane (scripts/fresh-machine.sh, or another checkout's) can run beside the first.
PORT_BASE=${GPUFLEET_TINK_PORT_BASE:-42000}
[[ $PORT_BASE =~ ^[0-9]+$ ]] && ((PORT_BASE >= 1024 && PORT_BASE <= 64535)) ||
	{ echo "tinkerbell: error: GPUFLEET_TINK_PORT_BASE must be a number from 1024 to 64535" >&2 && exit 2; }
ETCD_PORT=$((PORT_BASE + 379))
ETCD_PEER_PORT=$((PORT_BASE + 380))
API_PORT=$((PORT_BASE + 443))
TINK_GRPC_PORT=$((PORT_BASE + 113))
TINK_HTTP_PORT=$((PORT_BASE + 114))
TINKC_METRICS_PORT=$((PORT_BASE + 180))
TINKC_PROBE_PORT=$((PORT_BASE + 181))
RUFIO_METRICS_PORT=$((PORT_BASE + 182))
RUFIO_PROBE_PORT=$((PORT_BASE + 183))

BIN=$DIR/bin
RUN=$DIR/run
LOGS=$DIR/logs
CERTS=$RUN/certs
KUBECONFIG_FILE=$RUN/kubeconfig
ENV_FILE=$DIR/env
TIMINGS=$DIR/timings.log

# The CRDs, relative to $TINK_REF, in the order they are applied.
CRD_FILES=(
	tink-v0.12.2/crd/tinkerbell.org_hardware.yaml
	tink-v0.12.2/crd/tinkerbell.org_templates.yaml
	tink-v0.12.2/crd/tinkerbell.org_workflows.yaml
	rufio-v0.6.1/crd/bmc.tinkerbell.org_machines.yaml
	rufio-v0.6.1/crd/bmc.tinkerbell.org_jobs.yaml
	rufio-v0.6.1/crd/bmc.tinkerbell.org_tasks.yaml
)

log() { printf 'tinkerbell: %s\n' "$*" >&2; }
die() {
	printf 'tinkerbell: error: %s\n' "$*" >&2
	exit 1
}
log_tail() {
	local file=$1
	if [[ -r $file ]]; then
		printf 'tinkerbell: --- last lines of %s ---\n' "$file" >&2
		tail -n "${2:-30}" "$file" >&2 || true
		printf 'tinkerbell: ---\n' >&2
	fi
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
record_time() { printf '%s %s %ss\n' "$(date -u +%FT%TZ)" "$1" "$2" >>"$TIMINGS"; }

# ---------------------------------------------------------------------------------------------
# Builds

go_env() {
	command -v go >/dev/null 2>&1 || die "go is needed to build the control plane and is not on PATH"
	export GOPATH=$DIR/go GOMODCACHE=$DIR/go/pkg/mod GOCACHE=$DIR/gocache
	export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
}

# go_build NAME MODULE_DIR PACKAGE [GO BUILD ARG...]: build PACKAGE in the wrapper module into
# $BIN/NAME, niced, with limited parallelism; record how long it took.
go_build() {
	local name=$1 moddir=$2 pkg=$3 start=$SECONDS
	shift 3
	log "building $name ($pkg; go build -p $GO_PARALLEL; log: $LOGS/build-$name.log)"
	if ! (cd "$moddir" && nice -n 10 go build -p "$GO_PARALLEL" -trimpath "$@" -o "$BIN/$name.tmp" "$pkg") \
		>"$LOGS/build-$name.log" 2>&1; then
		log_tail "$LOGS/build-$name.log" 40
		die "building $name failed (full log: $LOGS/build-$name.log)"
	fi
	mv "$BIN/$name.tmp" "$BIN/$name"
	log "built $name in $((SECONDS - start))s"
	record_time "cold-build-$name" "$((SECONDS - start))"
}

# The wrapper module for tink and rufio: requiring both at their release versions gives the
# exact module graph of tink v0.12.2 (its go.mod pins rufio v0.6.1).
build_tink() {
	local mod=$DIR/src/tink
	mkdir -p "$mod"
	cat >"$mod/go.mod" <<EOF
// Generated by gpufleet scripts/tinkerbell.sh: a throwaway module to build tink and rufio.
module gpufleet.local/tinkbuild

go 1.22.0

require (
	github.com/tinkerbell/rufio $RUFIO_VERSION
	github.com/tinkerbell/tink $TINK_VERSION
)
EOF
	[[ -x $BIN/tink-server ]] || go_build tink-server "$mod" github.com/tinkerbell/tink/cmd/tink-server
	[[ -x $BIN/tink-controller ]] || go_build tink-controller "$mod" github.com/tinkerbell/tink/cmd/tink-controller
	[[ -x $BIN/rufio ]] || go_build rufio "$mod" github.com/tinkerbell/rufio
}

# kube-apiserver outside the kubernetes tree: k8s.io/kubernetes's go.mod replaces each staging
# module (k8s.io/api, k8s.io/apiserver, ...) with ./staging/src/..., which only works inside its
# own tree; a wrapper module replaces each of them with the published v0.x.y of the same release.
build_kube_apiserver() {
	local mod=$DIR/src/kube-apiserver staging_version=v0.${K8S_VERSION#v1.} gomod
	mkdir -p "$mod"
	log "reading k8s.io/kubernetes@$K8S_VERSION's go.mod for the staging modules"
	gomod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
	[[ -r $gomod ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
	local staging
	staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9.-]*\) => \./staging/.*#\1#p' "$gomod")
	[[ -n $staging ]] || die "no staging replace directives found in $gomod"
	{
		echo "// Generated by gpufleet scripts/tinkerbell.sh: a throwaway module to build kube-apiserver."
		echo "module gpufleet.local/kubeapiserverbuild"
		echo
		echo "go 1.22.0"
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
		echo
		echo "replace ("
		local m
		for m in $staging; do
			printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"
		done
		echo ")"
	} >"$mod/go.mod"
	local v=k8s.io/component-base/version minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local ldflags="-X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
	ldflags+=" -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
	ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
	go_build kube-apiserver "$mod" k8s.io/kubernetes/cmd/kube-apiserver -ldflags "$ldflags"
}

build_etcd_go() {
	local mod=$DIR/src/etcd
	mkdir -p "$mod"
	cat >"$mod/go.mod" <<EOF
// Generated by gpufleet scripts/tinkerbell.sh: a throwaway module to build etcd.
module gpufleet.local/etcdbuild

go 1.22.0

require go.etcd.io/etcd/server/v3 $ETCD_GO_VERSION
EOF
	go_build etcd "$mod" go.etcd.io/etcd/server/v3
}

# etcd: Debian's etcd-server works with kube-apiserver 1.31; a Go build where apt is not usable.
ETCD_BIN=
ensure_etcd() {
	if [[ ${GPUFLEET_TINK_ETCD:-} != go ]]; then
		if [[ ! -x /usr/bin/etcd ]] && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
			log "installing Debian's etcd-server (log: $LOGS/apt.log)"
			local start=$SECONDS
			if DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" apt-get -q -y \
				-o DPkg::Lock::Timeout=120 install etcd-server >"$LOGS/apt.log" 2>&1 ||
				{ timeout "$APT_TIMEOUT" apt-get -q update >>"$LOGS/apt.log" 2>&1 &&
					DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" apt-get -q -y \
						-o DPkg::Lock::Timeout=120 install etcd-server >>"$LOGS/apt.log" 2>&1; }; then
				record_time install-etcd-server "$((SECONDS - start))"
			else
				log "apt-get install etcd-server failed (see $LOGS/apt.log); building etcd from Go"
			fi
		fi
		if [[ -x /usr/bin/etcd ]]; then
			ETCD_BIN=/usr/bin/etcd
			return
		fi
	fi
	[[ -x $BIN/etcd ]] || build_etcd_go
	ETCD_BIN=$BIN/etcd
}

cmd_build() {
	mkdir -p "$BIN" "$LOGS"
	# One build at a time per cache dir: a second `build` (another checkout's test command, say)
	# waits for the first and then finds the binaries built.
	exec 8>"$DIR/.build.lock"
	if ! flock -n 8; then
		log "another build is running in $DIR; waiting for it (up to ${BUILD_LOCK_TIMEOUT}s)"
		flock -w "$BUILD_LOCK_TIMEOUT" 8 || die "another build held $DIR/.build.lock for ${BUILD_LOCK_TIMEOUT}s"
	fi
	ensure_etcd
	local missing=0 b
	for b in kube-apiserver tink-server tink-controller rufio; do
		[[ -x $BIN/$b ]] || missing=1
	done
	((missing)) || return 0
	go_env
	[[ -x $BIN/kube-apiserver ]] || build_kube_apiserver
	build_tink
}

# ---------------------------------------------------------------------------------------------
# Certificates and kubeconfig

ensure_certs() {
	[[ -s $CERTS/token && -s $CERTS/apiserver.crt && -s $CERTS/sa.key ]] && return 0
	command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the apiserver's certificates"
	log "generating a CA, the apiserver's serving certificate, a service-account key and a token"
	mkdir -p "$CERTS"
	chmod 700 "$CERTS"
	(
		cd "$CERTS"
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
			-subj "/CN=gpufleet-test-ca" 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
			-subj "/CN=kube-apiserver" 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default\n' >san.ext
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile san.ext -out apiserver.crt 2>/dev/null
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
		# A static token for user "gpufleet-admin" in group system:masters (all rights).
		openssl rand -hex 24 >token
		printf '%s,gpufleet-admin,gpufleet-admin,"system:masters"\n' "$(cat token)" >tokens.csv
		rm -f apiserver.csr san.ext
	)
}

write_kubeconfig() {
	local ca token
	ca=$(base64 -w0 <"$CERTS/ca.crt")
	token=$(cat "$CERTS/token")
	umask 077
	cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: gpufleet-tinkerbell
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $ca
users:
- name: gpufleet-admin
  user:
    token: $token
contexts:
- name: gpufleet-tinkerbell
  context:
    cluster: gpufleet-tinkerbell
    user: gpufleet-admin
    namespace: default
current-context: gpufleet-tinkerbell
EOF
	mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

# api METHOD PATH [CURL ARG...]: call the apiserver as the admin; prints the body.
api() {
	local method=$1 path=$2
	shift 2
	curl -sS --max-time 20 --cacert "$CERTS/ca.crt" -H "Authorization: Bearer $(cat "$CERTS/token")" \
		-X "$method" "$@" "https://127.0.0.1:$API_PORT$path"
}

# ---------------------------------------------------------------------------------------------
# Processes

pid_alive() {
	local pidfile=$RUN/$1.pid pid
	[[ -s $pidfile ]] || return 1
	pid=$(cat "$pidfile")
	kill -0 "$pid" 2>/dev/null || return 1
	# A recycled pid belongs to another program: check the executable's name.
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "${2:-$1}"* ]]
}

# start NAME COMMAND...: start a daemon in its own session, logging to $LOGS/NAME.log.
start() {
	local name=$1
	shift
	log "starting $name (log: $LOGS/$name.log)"
	setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- &
	echo $! >"$RUN/$name.pid"
}

# wait_for NAME DESCRIPTION COMMAND...: poll COMMAND until it succeeds, up to $READY_TIMEOUT s;
# fail with the daemon's log if the daemon dies or the deadline passes.
wait_for() {
	local name=$1 what=$2 deadline=$((SECONDS + READY_TIMEOUT))
	shift 2
	until "$@" >/dev/null 2>&1; do
		if ! pid_alive "$name" "${COMM[$name]}"; then
			log_tail "$LOGS/$name.log"
			die "$name exited before it was ready ($what)"
		fi
		if ((SECONDS >= deadline)); then
			log_tail "$LOGS/$name.log"
			die "$name was not ready ($what) within ${READY_TIMEOUT}s"
		fi
		sleep 0.5
	done
}

# The executable name (/proc/PID/comm, 15 characters at most) of each daemon.
declare -A COMM=([etcd]=etcd [kube-apiserver]=kube-apiserver [tink-controller]=tink-controller
	[tink-server]=tink-server [rufio]=rufio)
DAEMONS=(etcd kube-apiserver tink-controller tink-server rufio)

etcd_ready() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() { [[ $(api GET /readyz 2>/dev/null) == ok ]]; }
probe_ready() { curl -sf --max-time 2 "http://127.0.0.1:$1/readyz" >/dev/null; }
tink_server_ready() { port_open "$TINK_GRPC_PORT" && curl -sf --max-time 2 "http://127.0.0.1:$TINK_HTTP_PORT/healthz" >/dev/null; }

check_port_free() {
	local name=$1 port=$2
	if port_open "$port"; then
		die "port 127.0.0.1:$port, needed by $name, is taken by another program (this script's $name is not running)"
	fi
}

start_etcd() {
	pid_alive etcd etcd && return 0
	check_port_free etcd "$ETCD_PORT"
	mkdir -p "$RUN/etcd"
	start etcd "$ETCD_BIN" --name gpufleet --data-dir "$RUN/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "gpufleet=http://127.0.0.1:$ETCD_PEER_PORT" \
		--listen-metrics-urls "" --quota-backend-bytes 2147483648
}

start_apiserver() {
	pid_alive kube-apiserver && return 0
	check_port_free kube-apiserver "$API_PORT"
	start kube-apiserver "$BIN/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
		--cert-dir "$CERTS" --tls-cert-file "$CERTS/apiserver.crt" --tls-private-key-file "$CERTS/apiserver.key" \
		--client-ca-file "$CERTS/ca.crt" --token-auth-file "$CERTS/tokens.csv" \
		--service-account-key-file "$CERTS/sa.pub" --service-account-signing-key-file "$CERTS/sa.key" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range 10.96.0.0/24 --endpoint-reconciler-type none \
		--authorization-mode RBAC --profiling=false --v 1
}

start_tink_controller() {
	pid_alive tink-controller && return 0
	check_port_free tink-controller "$TINKC_PROBE_PORT"
	KUBECONFIG=$KUBECONFIG_FILE start tink-controller "$BIN/tink-controller" \
		--kubeconfig "$KUBECONFIG_FILE" \
		--metrics-bind-address "127.0.0.1:$TINKC_METRICS_PORT" \
		--health-probe-bind-address "127.0.0.1:$TINKC_PROBE_PORT"
}

start_tink_server() {
	pid_alive tink-server && return 0
	check_port_free tink-server "$TINK_GRPC_PORT"
	KUBECONFIG=$KUBECONFIG_FILE start tink-server "$BIN/tink-server" \
		--backend kubernetes --kubeconfig "$KUBECONFIG_FILE" \
		--grpc-authority "127.0.0.1:$TINK_GRPC_PORT" --http-authority "127.0.0.1:$TINK_HTTP_PORT"
}

start_rufio() {
	pid_alive rufio && return 0
	check_port_free rufio "$RUFIO_PROBE_PORT"
	KUBECONFIG=$KUBECONFIG_FILE start rufio "$BIN/rufio" \
		-kubeconfig "$KUBECONFIG_FILE" \
		-metrics-bind-address "127.0.0.1:$RUFIO_METRICS_PORT" \
		-health-probe-bind-address "127.0.0.1:$RUFIO_PROBE_PORT"
}

# Server-side apply of each CRD (creates it or brings it up to date), then wait for Established.
apply_crds() {
	local f path name
	for f in "${CRD_FILES[@]}"; do
		path=$TINK_REF/$f
		[[ -r $path ]] || die "CRD file $path is missing: set GPUFLEET_REFERENCE_DIR to the reference data directory that holds tinkerbell/$f"
	done
	for f in "${CRD_FILES[@]}"; do
		path=$TINK_REF/$f
		name=$(sed -n '/^metadata:/,/^[a-z]/s/^  name: *//p' "$path" | head -n1)
		[[ -n $name ]] || die "no metadata.name in $path"
		local out
		out=$(api PATCH "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name?fieldManager=gpufleet-tinkerbell-sh&force=true" \
			-H 'Content-Type: application/apply-patch+yaml' --data-binary "@$path" -w '\n%{http_code}') ||
			die "applying $path failed: $out"
		[[ ${out##*$'\n'} == 20? ]] || die "applying $path failed: HTTP ${out##*$'\n'}: ${out%$'\n'*}"
		local deadline=$((SECONDS + READY_TIMEOUT))
		until api GET "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name" |
			python3 -c 'import json,sys; c=json.load(sys.stdin).get("status",{}).get("conditions",[]); sys.exit(0 if any(x["type"]=="Established" and x["status"]=="True" for x in c) else 1)' 2>/dev/null; do
			((SECONDS < deadline)) || die "CRD $name was not Established within ${READY_TIMEOUT}s"
			sleep 0.5
		done
	done
	log "CRDs applied from $TINK_REF: ${#CRD_FILES[@]} Established"
}

print_env() {
	printf 'export KUBECONFIG=%s\n' "$KUBECONFIG_FILE"
	printf 'export GPUFLEET_TEST_KUBECONFIG=%s\n' "$KUBECONFIG_FILE"
	printf 'export GPUFLEET_TINK_GRPC=127.0.0.1:%s\n' "$TINK_GRPC_PORT"
}

cmd_up() {
	local start_all=$SECONDS
	cmd_build
	exec 8>&- # the build lock
	mkdir -p "$RUN" "$LOGS"
	ensure_certs
	write_kubeconfig
	local t=$SECONDS
	start_etcd
	wait_for etcd "GET /health" etcd_ready
	start_apiserver
	wait_for kube-apiserver "GET /readyz" apiserver_ready
	apply_crds
	start_tink_controller
	start_tink_server
	start_rufio
	wait_for tink-controller "GET 127.0.0.1:$TINKC_PROBE_PORT/readyz" probe_ready "$TINKC_PROBE_PORT"
	wait_for tink-server "gRPC 127.0.0.1:$TINK_GRPC_PORT, GET /healthz" tink_server_ready
	wait_for rufio "GET 127.0.0.1:$RUFIO_PROBE_PORT/readyz" probe_ready "$RUFIO_PROBE_PORT"
	print_env >"$ENV_FILE"
	log "control plane ready in $((SECONDS - t))s (up took $((SECONDS - start_all))s in all); exports in $ENV_FILE"
	record_time up "$((SECONDS - start_all))"
	print_env
}

stop_one() {
	local name=$1 pid deadline
	if pid_alive "$name" "${COMM[$name]}"; then
		pid=$(cat "$RUN/$name.pid")
		log "stopping $name (pid $pid)"
		kill "$pid" 2>/dev/null || true
		deadline=$((SECONDS + 20))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name did not stop within 20s; killing it"
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$RUN/$name.pid"
}

cmd_down() {
	local i
	for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
		stop_one "${DAEMONS[i]}"
	done
	rm -f "$ENV_FILE"
}

cmd_status() {
	local name rc=0
	for name in "${DAEMONS[@]}"; do
		if pid_alive "$name" "${COMM[$name]}"; then
			printf '%-16s running (pid %s)\n' "$name" "$(cat "$RUN/$name.pid")"
		elif [[ $name == etcd || -x $BIN/$name ]]; then
			printf '%-16s stopped\n' "$name"
			rc=3
		else
			printf '%-16s not built (run: scripts/tinkerbell.sh build)\n' "$name"
			rc=3
		fi
	done
	return "$rc"
}

cmd_env() {
	[[ -s $KUBECONFIG_FILE ]] || die "no kubeconfig yet: run scripts/tinkerbell.sh up"
	print_env
}

cmd_reset() {
	cmd_down
	rm -rf "$RUN/etcd"
	log "etcd data deleted"
}

# Smoke test: the reference example Hardware, Template and Workflow; tink-controller must render
# the Workflow and set it to STATE_PENDING.
cmd_smoke() {
	pid_alive kube-apiserver || die "the control plane is not running: run scripts/tinkerbell.sh up"
	local ex=$TINK_REF/tink-v0.12.2/examples kind plural name f
	# A Workflow runs once: delete the one a previous smoke test left, and wait until it is gone.
	api DELETE /apis/tinkerbell.org/v1alpha1/namespaces/default/workflows/wf1 >/dev/null 2>&1 || true
	local deadline=$((SECONDS + READY_TIMEOUT))
	until [[ $(api GET /apis/tinkerbell.org/v1alpha1/namespaces/default/workflows/wf1 -o /dev/null -w '%{http_code}') == 404 ]]; do
		((SECONDS < deadline)) || die "workflow default/wf1 was not deleted within ${READY_TIMEOUT}s"
		sleep 0.5
	done
	for kind in hardware template workflow; do
		f=$ex/$kind.yaml
		[[ -r $f ]] || die "example $f is missing: set GPUFLEET_REFERENCE_DIR"
		case $kind in hardware) plural=hardware ;; *) plural=${kind}s ;; esac
		name=$(sed -n '/^metadata:/,/^[a-z]/s/^  name: *//p' "$f" | head -n1)
		local out
		out=$(api PATCH "/apis/tinkerbell.org/v1alpha1/namespaces/default/$plural/$name?fieldManager=gpufleet-smoke&force=true" \
			-H 'Content-Type: application/apply-patch+yaml' --data-binary "@$f" -w '\n%{http_code}')
		[[ ${out##*$'\n'} == 20? ]] || die "applying $f failed: HTTP ${out##*$'\n'}: ${out%$'\n'*}"
		log "applied $kind/$name"
	done
	local state=
	deadline=$((SECONDS + READY_TIMEOUT))
	while ((SECONDS < deadline)); do
		state=$(api GET /apis/tinkerbell.org/v1alpha1/namespaces/default/workflows/wf1 |
			python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",{}).get("state",""))' 2>/dev/null || true)
		[[ -n $state ]] && break
		sleep 0.5
	done
	[[ $state == STATE_PENDING || $state == STATE_RUNNING || $state == STATE_SUCCESS ]] ||
		die "workflow default/wf1 has state '${state:-<none>}' after ${READY_TIMEOUT}s (expected STATE_PENDING)"
	log "workflow default/wf1: $state (rendered by tink-controller)"
	# The worker: tink-server serves wf1 over gRPC to worker id 3c:ec:ef:4c:4f:54 (the example's
	# hardwareMap), played by the simulator's worker role when the Python environment has it.
	local py=${GPUFLEET_VENV:-$HOME/.cache/gpufleet/venv}/bin/python
	if [[ -x $py ]] && "$py" -c 'import gpufleet_sim.tinkworker' 2>/dev/null; then
		local mac
		mac=$(sed -n 's/^ *device_1: *//p' "$ex/workflow.yaml" | head -n1)
		log "playing worker $mac against tink-server 127.0.0.1:$TINK_GRPC_PORT"
		GPUFLEET_REFERENCE_DIR=$REF_DIR "$py" "$ROOT/scripts/tink-worker.py" \
			--server "127.0.0.1:$TINK_GRPC_PORT" --worker "$mac" --timeout "$READY_TIMEOUT" >&2 ||
			die "the worker got no workflow from tink-server"
		# tink-server records the last action, then the Workflow passes through its post-actions
		# state (STATE_POST) before STATE_SUCCESS: wait for it, within the deadline.
		local until=$((SECONDS + READY_TIMEOUT))
		while :; do
			state=$(api GET /apis/tinkerbell.org/v1alpha1/namespaces/default/workflows/wf1 |
				python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",{}).get("state",""))' 2>/dev/null || true)
			[[ $state == STATE_SUCCESS || $state == STATE_FAILED || $state == STATE_TIMEOUT ]] && break
			((SECONDS < until)) || break
			sleep 0.5
		done
		[[ $state == STATE_SUCCESS ]] || die "workflow default/wf1 has state '${state:-<none>}' after the worker ran (expected STATE_SUCCESS)"
		log "workflow default/wf1: $state (every action reported over gRPC)"
	else
		log "no Python environment with gpufleet_sim (scripts/python-env.sh): worker step skipped"
	fi
	echo "$state"
}

cmd_built() {
	local b
	for b in kube-apiserver tink-server tink-controller rufio; do
		[[ -x $BIN/$b ]] || return 1
	done
	[[ -x /usr/bin/etcd || -x $BIN/etcd ]]
}

# The exports `cargo test` needs to run fleet-tinkerbell's integration tests: the kubeconfig, the
# gRPC address and, when the Python environment has the simulator, the command playing the worker.
cmd_test_env() {
	cmd_env
	local py=${GPUFLEET_VENV:-$HOME/.cache/gpufleet/venv}/bin/python
	if [[ -x $py ]] && "$py" -c 'import gpufleet_sim.tinkworker' 2>/dev/null; then
		printf 'export GPUFLEET_TEST_TINK_WORKER=%q\n' \
			"env GPUFLEET_REFERENCE_DIR=$REF_DIR $py $ROOT/scripts/tink-worker.py"
	fi
}

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

case ${1:-} in
build) cmd_build ;;
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
reset) cmd_reset ;;
smoke) cmd_smoke ;;
built) cmd_built ;;
test-env) cmd_test_env ;;
*) usage ;;
esac
