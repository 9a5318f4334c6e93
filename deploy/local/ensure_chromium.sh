#!/usr/bin/env bash
# Headless Chromium for the browser tests comes from Debian (chromium, chromium-driver).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(command -v chromium)"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium: installing Debian's chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null
  echo "chromium: $(command -v chromium)"
else
  echo "chromium is missing: install Debian's 'chromium' package (browser tests need it)." >&2
  exit 1
fi
