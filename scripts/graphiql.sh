#!/usr/bin/env bash
# Installs (idempotently) the browser files of GraphiQL for gpufleet's GraphQL console, from the
# npm registry, checksummed, into one folder, and prints that folder. gpufleet serves them from
# there (`graphql.graphiql_dir`, GPUFLEET_GRAPHIQL_DIR) at /api/v1/graphiql: the console loads
# nothing from any other site.
#
#   GPUFLEET_GRAPHIQL_DIR   where the files go (default ~/.cache/gpufleet/graphiql-4.1.2)
#
# GraphiQL 4.1 is the newest line published with a browser (UMD) build; React 18.3 is the
# React it runs on. Their licences (MIT) are kept beside the files.
set -euo pipefail
DIR=${GPUFLEET_GRAPHIQL_DIR:-$HOME/.cache/gpufleet/graphiql-4.1.2}
REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org}

# package version tarball-sha256 file...
PACKAGES=(
	"graphiql 4.1.2 6aa9cb6d82e656d38b72991264f41545889881e8dc23059199be3b94fff2ad05 graphiql.min.js graphiql.min.css LICENSE"
	"react 18.3.1 8d9bed01a672e7eaf387942d781ad47c6a43089a30a0306060f9fd5ac7870347 umd/react.production.min.js LICENSE"
	"react-dom 18.3.1 031d4427a99f2f3f6cac18bbbf308594a67e4f47d10f4896fdec446505b040e0 umd/react-dom.production.min.js LICENSE"
)

if [[ -f $DIR/.complete ]]; then
	echo "$DIR"
	exit 0
fi
mkdir -p "$DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for entry in "${PACKAGES[@]}"; do
	read -r name version sum files <<<"$entry"
	tgz=$TMP/$name-$version.tgz
	curl -fsSL --retry 3 --max-time 120 -o "$tgz" "$REGISTRY/$name/-/$name-$version.tgz" ||
		{ echo "graphiql: cannot download $name $version from $REGISTRY" >&2; exit 1; }
	echo "$sum  $tgz" | sha256sum -c --quiet - ||
		{ echo "graphiql: $name-$version.tgz does not have the expected checksum" >&2; exit 1; }
	tar -xzf "$tgz" -C "$TMP"
	for f in $files; do
		if [[ $f == LICENSE ]]; then
			cp "$TMP/package/LICENSE" "$DIR/LICENSE.$name"
		else
			cp "$TMP/package/$f" "$DIR/$(basename "$f")"
		fi
	done
	rm -rf "$TMP/package"
done
printf 'graphiql 4.1.2, react 18.3.1, react-dom 18.3.1 from %s\n' "$REGISTRY" >"$DIR/.complete"
echo "$DIR"
