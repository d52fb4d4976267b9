#!/usr/bin/env bash
# Refresh GraphiQL's assets embedded in the binary (internal/graphiql/assets).
#
# The server serves GraphiQL with no request leaving the machine: React,
# ReactDOM and GraphiQL's browser bundles are committed here, at the pinned
# versions below, and embedded with go:embed. To upgrade, change a version,
# run this script (it needs npm and the npm registry), review, build, run the
# browser tests (go test ./internal/browsertest) and commit.
set -euo pipefail
cd "$(dirname "$0")/.."

REACT_VERSION=18.3.1    # React 19 ships no UMD bundles
GRAPHIQL_VERSION=3.8.3  # GraphiQL 4 ships no UMD bundle

dest=internal/graphiql/assets
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "react@$REACT_VERSION" "react-dom@$REACT_VERSION" "graphiql@$GRAPHIQL_VERSION" >/dev/null)
for pkg in "react-$REACT_VERSION" "react-dom-$REACT_VERSION" "graphiql-$GRAPHIQL_VERSION"; do
  mkdir -p "$tmp/${pkg%-*}"
  tar -xzf "$tmp/$pkg.tgz" -C "$tmp/${pkg%-*}" --strip-components=1
done

cp "$tmp/react/umd/react.production.min.js" "$dest/react.production.min.js"
cp "$tmp/react-dom/umd/react-dom.production.min.js" "$dest/react-dom.production.min.js"
cp "$tmp/graphiql/graphiql.min.js" "$dest/graphiql.min.js"
cp "$tmp/graphiql/graphiql.min.css" "$dest/graphiql.min.css"
cp "$tmp/graphiql/LICENSE" "$dest/LICENSE.graphiql"
cp "$tmp/react/LICENSE" "$dest/LICENSE.react"
# Drop the source-map comments: the maps are not shipped.
sed -i -e '/^\/\/# sourceMappingURL=/d' -e 's|/\*# sourceMappingURL=[^*]*\*/||' "$dest"/*.js "$dest"/*.css

cat > "$dest/VERSIONS" <<VERSIONS
react $REACT_VERSION
react-dom $REACT_VERSION
graphiql $GRAPHIQL_VERSION
VERSIONS
echo "GraphiQL assets updated in $dest:"
cat "$dest/VERSIONS"
