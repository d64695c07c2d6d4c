#!/usr/bin/env bash
# Stop the Slurm cluster that start-slurm.sh started: its jobs first, then exactly the daemons
# named by its pid files (nothing found by name). XPM_SLURM_CI_PURGE=1 also deletes the state
# folder (database, logs), so the next start begins from scratch.
set -uo pipefail
DIR=${XPM_SLURM_CI_DIR:-/tmp/xpm-slurm-ci}
RUN=$DIR/run

say() { printf '[stop-slurm %(%H:%M:%S)T] %s\n' -1 "$*"; }
running() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc 0-9 <"$1")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
# stop NAME...: SIGTERM each daemon still running, wait up to 20 s for all, then SIGKILL.
stop() {
    local name pid pids=()
    for name in "$@"; do
        if running "$RUN/$name.pid" "$name"; then
            pid=$(tr -dc 0-9 <"$RUN/$name.pid")
            say "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
        fi
        rm -f "$RUN/$name.pid"
    done
    for _ in $(seq 200); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && { say "pid $pid still running after 20 s: SIGKILL"; kill -KILL "$pid"; }
    done
}

# Jobs left running would leave slurmstepd processes behind once slurmd is gone.
if running "$RUN/slurmctld.pid" slurmctld; then
    jobs=$(squeue --noheader --format=%A 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs: $jobs"
        # shellcheck disable=SC2086  # one argument per job id
        scancel $jobs 2>/dev/null
        for _ in $(seq 50); do [ -z "$(squeue --noheader --format=%A 2>/dev/null)" ] && break; sleep 0.2; done
    fi
fi
stop slurmd slurmctld
stop slurmdbd
stop mariadbd munged
if [ "${XPM_SLURM_CI_PURGE:-0}" = 1 ]; then
    say "deleting $DIR"
    rm -rf "$DIR"
fi
say "stopped"
