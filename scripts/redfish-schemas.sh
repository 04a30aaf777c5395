#!/usr/bin/env bash
# The DMTF Redfish schemas (DSP8010, OData CSDL XML) for the Redfish Service Validator test
# (python/tests/test_conformance.py), which otherwise downloads them from dmtf.org at run time.
# They come from crates.io: the crate nv-redfish-schema ships the DSP8010 CSDL files under
# redfish-csdl/csdl/. `cargo fetch` puts it into Cargo's registry cache once per machine (nothing
# is built); the script prints the directory that holds the CSDL files.
#   GPUFLEET_TOOLS_DIR  where the fetch manifest lives (default ~/.cache/gpufleet/tools)
set -euo pipefail
CRATE=nv-redfish-schema
VERSION=0.22.1
DIR="${GPUFLEET_TOOLS_DIR:-$HOME/.cache/gpufleet/tools}/redfish-schemas"
mkdir -p "$DIR/src"
cat > "$DIR/Cargo.toml" <<TOML
[package]
name = "gpufleet-redfish-schemas"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$CRATE = "=$VERSION"

[workspace]
TOML
: > "$DIR/src/lib.rs"
cargo fetch -q --manifest-path "$DIR/Cargo.toml" >&2
CSDL="$(cargo metadata -q --format-version 1 --manifest-path "$DIR/Cargo.toml" |
  python3 -c 'import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == sys.argv[1]:
        print(os.path.join(os.path.dirname(p["manifest_path"]), "redfish-csdl", "csdl"))' "$CRATE")"
if [[ ! -f "$CSDL/ServiceRoot_v1.xml" ]]; then
  echo "redfish-schemas: no DSP8010 CSDL files in ${CSDL:-$CRATE $VERSION}" >&2
  exit 1
fi
echo "$CSDL"
