#!/usr/bin/env bash
# `make vendor`: the console's browser assets, fetched from the npm registry and committed under
# services/survey/static/vendor/ (a fresh clone needs no npm). Each asset keeps its version
# and its licence beside it. Change a version here (or HTMX_VERSION=x.y.z make vendor) to move.
set -euo pipefail
HTMX_VERSION="${HTMX_VERSION:-4.0.1}"

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENDOR="$ROOT/services/survey/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "npm is needed to refresh the vendored assets"; exit 1; }

(cd "$WORK" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null && tar xzf htmx.org-*.tgz)
mkdir -p "$VENDOR/htmx"
cp "$WORK/package/dist/htmx.min.js" "$VENDOR/htmx/htmx.min.js"
cp "$WORK/package/LICENSE" "$VENDOR/htmx/LICENSE"
version="$(node -p "require('$WORK/package/package.json').version")"
licence="$(node -p "require('$WORK/package/package.json').license")"
printf 'htmx.org %s (npm), licence %s\n' "$version" "$licence" > "$VENDOR/htmx/VERSION"
echo "vendored htmx.org $version into $VENDOR/htmx"
