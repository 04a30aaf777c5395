#!/usr/bin/env bash
# System packages the Python simulator's tests talk to (independent protocol peers).
# Idempotent: installs only what is missing, with one `apt-get update` first.
#   ipmitool  - IPMI-over-LAN client (lanplus) that drives the simulated BMCs
set -euo pipefail

PKGS=(ipmitool)

missing=()
for pkg in "${PKGS[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done

if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "deps-python: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
