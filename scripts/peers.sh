#!/usr/bin/env bash
# Independent protocol peers for the out-of-band driver tests (crates/fleet-bmc/tests/peers.rs),
# installed once per machine and idempotently:
#   sushy-tools (PyPI, into the project venv): `sushy-emulator --fake`, a Redfish BMC from OpenStack
#   openipmi (Debian): `ipmi_sim`, OpenIPMI's IPMI-over-LAN BMC simulator
#   ipmitool (Debian): IPMI client used by the ipmitool driver
#   grpcurl (Go module proxy, `go install`, once per machine into $GPUFLEET_TOOLS_DIR): an
#     independent gRPC client for the gRPC API tests (crates/fleet-server/tests/interfaces.rs)
#   GraphiQL's browser files (npm registry, scripts/graphiql.sh): the GraphQL console that
#     crates/fleet-server/tests/graphql_live.rs serves from local files
#   GPUFLEET_VENV  the venv (default ~/.cache/gpufleet/venv, made by scripts/python-env.sh)
# Writes `export GPUFLEET_TEST_GRPCURL=<path>` and `export GPUFLEET_GRAPHIQL_DIR=<dir>` into
# $GPUFLEET_TOOLS_DIR/peers.env (scripts/test.sh sources it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$(bash "$ROOT/scripts/python-env.sh")"
SUSHY_TOOLS_VERSION=2.2.0

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('sushy-tools') != '$SUSHY_TOOLS_VERSION')" 2>/dev/null; then
  echo "peers: installing sushy-tools $SUSHY_TOOLS_VERSION into $VENV" >&2
  "$VENV/bin/pip" install -q "sushy-tools==$SUSHY_TOOLS_VERSION" >&2
fi

PKGS=(openipmi ipmitool)
missing=()
for pkg in "${PKGS[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "peers: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
GRPCURL_VERSION=v1.9.4
TOOLS_DIR=${GPUFLEET_TOOLS_DIR:-$HOME/.cache/gpufleet/tools}
GRPCURL=$TOOLS_DIR/grpcurl-$GRPCURL_VERSION/grpcurl
if [[ ! -x $GRPCURL ]]; then
  command -v go >/dev/null 2>&1 || { echo "peers: grpcurl needs Go (go install); none on PATH" >&2; exit 1; }
  echo "peers: building grpcurl $GRPCURL_VERSION with go install (once per machine)" >&2
  tmp=$GRPCURL.tmp.$$
  mkdir -p "$tmp"
  if ! GOBIN=$tmp GOFLAGS=-mod=mod timeout 900 nice -n 10 \
    go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION" >"$tmp.log" 2>&1; then
    tail -n 20 "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    exit 1
  fi
  mkdir -p "$(dirname "$GRPCURL")"
  mv -f "$tmp/grpcurl" "$GRPCURL"
  rm -rf "$tmp" "$tmp.log"
fi
GRAPHIQL_DIR=$(bash "$ROOT/scripts/graphiql.sh")
{
  echo "export GPUFLEET_TEST_GRPCURL='$GRPCURL'"
  echo "export GPUFLEET_GRAPHIQL_DIR='$GRAPHIQL_DIR'"
} >"$TOOLS_DIR/peers.env"
echo "peers: sushy-emulator $("$VENV/bin/sushy-emulator" --help >/dev/null 2>&1 && echo ok || echo MISSING), ipmi_sim $(command -v ipmi_sim || echo MISSING), ipmitool $(command -v ipmitool || echo MISSING), grpcurl $GRPCURL, GraphiQL files $GRAPHIQL_DIR" >&2
