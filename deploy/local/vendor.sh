#!/usr/bin/env bash
# `make vendor`: the console's browser assets, fetched from the npm registry and committed under
# services/survey/static/vendor/ (a fresh clone needs no npm). Each asset keeps its version
# and its licence beside it. Change a version here (or HTMX_VERSION=x.y.z make vendor) to move.
set -euo pipefail
HTMX_VERSION="${HTMX_VERSION:-4.0.1}"
# the charts: vega draws, vega-lite compiles the specs, vega-embed glues them; vega-interpreter
# evaluates vega's expressions without eval/new Function, so the CSP keeps no 'unsafe-eval'
VEGA_VERSION="${VEGA_VERSION:-6.4.0}"
VEGA_LITE_VERSION="${VEGA_LITE_VERSION:-6.5.0}"
VEGA_EMBED_VERSION="${VEGA_EMBED_VERSION:-7.3.0}"
VEGA_INTERPRETER_VERSION="${VEGA_INTERPRETER_VERSION:-2.3.2}"

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENDOR="$ROOT/services/survey/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "npm is needed to refresh the vendored assets"; exit 1; }

# vendor NAME VERSION DIR FILE...: unpack NAME@VERSION, copy FILEs (paths in the package) and
# its licence into vendor/DIR, write VERSION
vendor() {
  local name="$1" version="$2" dir="$3"
  shift 3
  rm -rf "$WORK/package"
  (cd "$WORK" && npm pack --silent "$name@$version" >/dev/null && tar xzf "$name"-*.tgz && rm "$name"-*.tgz)
  mkdir -p "$VENDOR/$dir"
  for file in "$@"; do cp "$WORK/package/$file" "$VENDOR/$dir/"; done
  cp "$WORK/package/LICENSE" "$VENDOR/$dir/LICENSE"
  local got licence
  got="$(node -p "require('$WORK/package/package.json').version")"
  licence="$(node -p "require('$WORK/package/package.json').license")"
  printf '%s %s (npm), licence %s\n' "$name" "$got" "$licence" > "$VENDOR/$dir/VERSION"
  echo "vendored $name $got into $VENDOR/$dir"
}

vendor htmx.org "$HTMX_VERSION" htmx dist/htmx.min.js
vendor vega "$VEGA_VERSION" vega build/vega.min.js
vendor vega-lite "$VEGA_LITE_VERSION" vega-lite build/vega-lite.min.js
vendor vega-embed "$VEGA_EMBED_VERSION" vega-embed build/vega-embed.min.js
vendor vega-interpreter "$VEGA_INTERPRETER_VERSION" vega-interpreter build/vega-interpreter.js
# vega-interpreter ships only as an ES module importing vega-util; vega's bundle exports the
# same functions, so it becomes a plain script reading them from window.vega
interpreter="$VENDOR/vega-interpreter/vega-interpreter.js"
{
  echo "/* vega-interpreter as a plain script: its vega-util imports read from window.vega */"
  echo "(function () {"
  sed -e "s/^import { \(.*\) } from 'vega-util';$/const { \1 } = window.vega;/" \
      -e "s/^export { expression as expressionInterpreter };$/window.vegaInterpreter = { expressionInterpreter: expression };/" \
      "$interpreter"
  echo "})();"
} > "$interpreter.tmp"
mv "$interpreter.tmp" "$interpreter"
grep -q "^import\|^export" "$interpreter" && { echo "vega-interpreter: an import or export was left"; exit 1; }
echo "done"
