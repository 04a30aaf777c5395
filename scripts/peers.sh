#!/usr/bin/env bash
# Independent protocol peers for the out-of-band driver tests (crates/fleet-bmc/tests/peers.rs),
# installed once per machine and idempotently:
#   sushy-tools (PyPI, into the project venv): `sushy-emulator --fake`, a Redfish BMC from OpenStack
#   openipmi (Debian): `ipmi_sim`, OpenIPMI's IPMI-over-LAN BMC simulator
#   ipmitool (Debian): IPMI client used by the ipmitool driver
#   GPUFLEET_VENV  the venv (default ~/.cache/gpufleet/venv, made by scripts/python-env.sh)
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
echo "peers: sushy-emulator $("$VENV/bin/sushy-emulator" --help >/dev/null 2>&1 && echo ok || echo MISSING), ipmi_sim $(command -v ipmi_sim || echo MISSING), ipmitool $(command -v ipmitool || echo MISSING)" >&2
