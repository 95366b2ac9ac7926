#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (Playwright drives it;
# no browser is ever downloaded by Playwright itself). Installs it with apt when missing.
set -euo pipefail

CHROMIUM="${PATRON_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

echo "==> $CHROMIUM is missing: installing Debian's chromium package"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "ERROR: not root and no sudo: install the 'chromium' package, then run again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium
if [ ! -x "$CHROMIUM" ]; then
  echo "ERROR: chromium installed but $CHROMIUM is still missing." >&2
  exit 1
fi
"$CHROMIUM" --version
