#!/usr/bin/env bash
# Stop what start-oar.sh started (Almighty, OAR's node sshd, the private PostgreSQL), by the pid
# files under $XPM_OAR_CI_DIR/run and nothing else. Unfinished jobs are deleted first, while the
# server still runs, so that no oarexec is left behind. XPM_OAR_CI_PURGE=1 also deletes the state
# directory and restores /etc/oar/oar.conf and /usr/lib/oar/Almighty.
set -uo pipefail
DIR=${XPM_OAR_CI_DIR:-/tmp/xpm-oar-ci}
RUN=$DIR/run
say() { printf '[stop-oar %(%H:%M:%S)T] %s\n' -1 "$*"; }
running() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(head -1 "$1" | tr -dc 0-9)
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
# stop NAME COMM [SIGNAL]: signal the recorded pid, wait up to 20 s, then SIGKILL.
stop() {
    local pidfile=$RUN/$1.pid pid
    if ! running "$pidfile" "$2"; then rm -f "$pidfile"; return 0; fi
    pid=$(head -1 "$pidfile" | tr -dc 0-9)
    say "stopping $1 (pid $pid)"
    kill -"${3:-TERM}" "$pid"
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$pidfile"
}
if running "$RUN/almighty.pid" Almighty; then
    ids=$(oarstat -J 2>/dev/null | python3 -c 'import json,sys
try: print(" ".join(sorted(json.load(sys.stdin))))
except ValueError: pass')
    if [ -n "$ids" ]; then
        say "deleting unfinished jobs: $ids"
        oardel $ids >/dev/null 2>&1
        for _ in $(seq 100); do
            [ -z "$(oarstat -J 2>/dev/null | python3 -c 'import json,sys
try: print(" ".join(sorted(json.load(sys.stdin))))
except ValueError: pass')" ] && break
            sleep 0.2
        done
    fi
fi
stop almighty Almighty
stop oar-node-sshd sshd
stop postgres postgres INT   # SIGINT: PostgreSQL's fast shutdown
if [ "${XPM_OAR_CI_PURGE:-0}" = 1 ]; then
    say "removing $DIR, restoring /etc/oar/oar.conf and /usr/lib/oar/Almighty"
    rm -rf "$DIR"
    [ -e /etc/oar/oar.conf.xpm-orig ] && mv -f /etc/oar/oar.conf.xpm-orig /etc/oar/oar.conf
    [ -e /usr/lib/oar/Almighty.xpm-orig ] && mv -f /usr/lib/oar/Almighty.xpm-orig /usr/lib/oar/Almighty
fi
say "done"
