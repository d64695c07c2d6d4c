#!/usr/bin/env bash
# Stop the sshd that start-sshd.sh started (its pid file), and nothing else.
#
# Sessions it forked for open connections end when their clients disconnect. With
# XPM_SSH_CI_PURGE=1 the state directory (keys, configuration) is deleted as well.
set -uo pipefail
DIR=${XPM_SSH_CI_DIR:-/tmp/xpm-ssh-ci}
say() { printf '[stop-sshd %(%H:%M:%S)T] %s\n' -1 "$*"; }

if [ -s "$DIR/sshd.pid" ]; then
    pid=$(tr -dc 0-9 <"$DIR/sshd.pid")
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ]; then
        say "stopping sshd (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$DIR/sshd.pid"
fi
[ "${XPM_SSH_CI_PURGE:-0}" = 1 ] && { say "removing $DIR"; rm -rf "$DIR"; }
say "done"
