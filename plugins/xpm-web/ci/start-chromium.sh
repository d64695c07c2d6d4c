#!/usr/bin/env bash
# Install Debian's headless-capable Chromium and its chromedriver for xpm-web's browser tests.
#
# Chromium is not a daemon: the tests start their own browser (with the network-quiet flags of
# xpm-web's tests/browser.py) and end it. This script only makes sure the two programs are
# there and answer --version. Idempotent: nothing is installed when both already are.
# As root on Debian 12 without systemd; apt waits for dpkg's lock (other start scripts install
# at the same time).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

say() { printf '[start-chromium %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { say "ERROR: $*"; exit 1; }

APT=(apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "chromium or chromedriver is missing: run me as root to install them"
    start=$(date +%s)
    # A stale package list (or none) is fixed by one update, then a second try.
    if ! "${APT[@]}" install chromium chromium-driver; then
        apt-get -o DPkg::Lock::Timeout=600 update -q
        "${APT[@]}" install chromium chromium-driver
    fi
    say "chromium and chromium-driver installed in $(( $(date +%s) - start )) s"
fi
# /usr/bin/chromium's wrapper prints a harmless shell warning about /dev/shm: keep stdout only.
say "$(chromium --version 2>/dev/null | head -1)"
say "$(chromedriver --version 2>/dev/null | head -1)"
