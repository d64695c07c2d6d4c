#!/usr/bin/env bash
# Make tmux available for xpm-tui's real-terminal test (Debian 12, as root). Idempotent.
#
# tmux is not a daemon to keep running: each test starts its own server on a private socket
# (tmux -L xpm-tui-tests) and ends it. This script only installs Debian's tmux when missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

say() { printf '[start-tmux %(%H:%M:%S)T] %s\n' -1 "$*"; }

if command -v tmux >/dev/null 2>&1; then
    say "tmux is installed: $(tmux -V)"
    exit 0
fi
[ "$(id -u)" = 0 ] || { say "ERROR: tmux is missing; run me as root to install it"; exit 1; }
say "installing tmux"
# Several plugins' scripts install at once in CI: wait for dpkg's lock rather than fail.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends tmux >/dev/null
say "tmux is installed: $(tmux -V)"
