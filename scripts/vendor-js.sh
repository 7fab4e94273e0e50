#!/usr/bin/env bash
# Vendor the report page's JavaScript: cytoscape and the fcose layout (with cose-base and
# layout-base), all MIT, at pinned versions, from the npm registry.
#
#   bash scripts/vendor-js.sh          # fetch, copy into src/podwall/report/assets/, write VENDORED.md
#
# The copied files are committed: podwall builds reports offline and the page never loads
# anything from the network. Run this only to change a version (edit the pins below).
set -euo pipefail
cd "$(dirname "$0")/.."
PINS=("cytoscape@3.35.0" "cytoscape-fcose@2.2.0" "cose-base@2.2.0" "layout-base@2.0.1")
# package -> the distributed file that is inlined into the page
declare -A DIST=(
  [cytoscape]="dist/cytoscape.min.js"
  [cytoscape-fcose]="cytoscape-fcose.js"
  [cose-base]="cose-base.js"
  [layout-base]="layout-base.js"
)
dest=src/podwall/report/assets/vendor
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest"
{
  echo "# Vendored JavaScript"
  echo
  echo "Fetched by \`scripts/vendor-js.sh\` with \`npm pack\` (the npm registry); inlined into every"
  echo "\`podwall report\` page in this order: layout-base, cose-base, cytoscape, cytoscape-fcose."
  echo "All are MIT-licensed; each licence file is copied next to its script."
  echo
  echo "| package | version | licence | file | sha256 |"
  echo "|---|---|---|---|---|"
} > "$tmp/VENDORED.md"
for pin in "${PINS[@]}"; do
  name="${pin%@*}"
  version="${pin##*@}"
  (cd "$tmp" && npm pack --silent "$pin" >/dev/null)
  mkdir -p "$tmp/$name"
  tar -xzf "$tmp/$name-$version.tgz" -C "$tmp/$name"
  pkg="$tmp/$name/package"
  license="$(node -e "process.stdout.write(require('$pkg/package.json').license)")"
  [ "$license" = "MIT" ] || { echo "error: $pin is licensed $license, not MIT" >&2; exit 1; }
  cp "$pkg/${DIST[$name]}" "$dest/$name.js"
  lic="$(ls "$pkg" | grep -i -m1 -E '^licen[cs]e')"
  cp "$pkg/$lic" "$dest/$name.LICENSE"
  sum="$(sha256sum "$dest/$name.js" | cut -d' ' -f1)"
  echo "| $name | $version | $license | vendor/$name.js (from ${DIST[$name]}) | \`$sum\` |" >> "$tmp/VENDORED.md"
done
cp "$tmp/VENDORED.md" src/podwall/report/assets/VENDORED.md
echo "vendored: ${PINS[*]} -> $dest" >&2
