#!/usr/bin/env bash
# End the tmux server of xpm-tui's tests (private socket xpm-tui-tests), if one was left running.
set -euo pipefail
if command -v tmux >/dev/null 2>&1 && tmux -L xpm-tui-tests has-session 2>/dev/null; then
    tmux -L xpm-tui-tests kill-server
fi
echo "[stop-tmux] no tmux server of the tests is running"
