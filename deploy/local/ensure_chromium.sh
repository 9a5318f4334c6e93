#!/usr/bin/env bash
# Headless Chromium for the browser tests and the PDF reports comes from Debian (chromium,
# chromium-driver); pdftotext (poppler-utils) for the report tests;
# axe-core, the accessibility checker the browser tests inject, comes from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../.."

AXE_VERSION="4.14.1"
AXE_DIR="${RAPPORT_TEST_TOOLS:-var/test-tools}"

# Only what is missing: a Node.js from elsewhere (e.g. NodeSource) brings its own npm and
# conflicts with Debian's npm package.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver fonts-dejavu-core)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# pdftotext reads the PDF reports' text in their tests
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing ${missing[*]}: install Debian's packages of these names (browser tests need them)." >&2
    exit 1
  fi
fi
echo "chromium: $(command -v chromium)"

installed=""
if [ -f "$AXE_DIR/node_modules/axe-core/package.json" ]; then
  installed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$AXE_DIR/node_modules/axe-core/package.json" | head -1)"
fi
if [ "$installed" != "$AXE_VERSION" ]; then
  echo "axe-core: installing $AXE_VERSION into $AXE_DIR"
  mkdir -p "$AXE_DIR"
  npm install --prefix "$AXE_DIR" --no-save --no-audit --no-fund --loglevel=error "axe-core@$AXE_VERSION" >/dev/null
fi
echo "axe-core: $AXE_DIR/node_modules/axe-core/axe.min.js"
