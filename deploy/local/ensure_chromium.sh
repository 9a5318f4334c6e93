#!/usr/bin/env bash
# Headless Chromium for the browser tests comes from Debian (chromium, chromium-driver);
# axe-core, the accessibility checker the browser tests inject, comes from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../.."

AXE_VERSION="4.14.1"
AXE_DIR="${RAPPORT_TEST_TOOLS:-var/test-tools}"

if ! command -v chromium >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium/npm: installing Debian's packages with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver fonts-dejavu-core npm >/dev/null
  else
    echo "chromium or npm is missing: install Debian's 'chromium' and 'npm' packages (browser tests need them)." >&2
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
