"""The POSIX shell snippets xpm runs on SSH hosts: start a detached job, read many processes at once, kill.

They need only ``sh``, ``setsid`` and ``/proc`` (Linux), so that a host without Python (a
Slurm login node's restricted shell aside) can still run and follow jobs. Each is passed as
``sh -c SCRIPT sh ARGS...`` so that the user's login shell (bash, zsh, fish...) only sees one
quoted word.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Mapping, Sequence

#: Where a job's exit code is written when it ends, as ``PID.START`` (a later process given the
#: same pid has another start stamp). Kept on the host so that any driver, even a new one, reads it.
EXIT_DIR = "${XDG_STATE_HOME:-$HOME/.local/state}/xpm-ssh/exit"

# stamp PID: the start time of PID in clock ticks since boot (field 22 of /proc/PID/stat),
# failing when PID does not exist or is a zombie. The command name (field 2) may hold spaces
# and parentheses: everything up to the last ") " is dropped first.
_STAMP = r"""
stamp() {
    { read -r l < "/proc/$1/stat"; } 2>/dev/null || return 1
    l=${l##*) }
    set -- $l
    [ "$1" != Z ] || return 1
    echo "${20}"
}
"""

# The job's wrapper: runs the command, then records its exit code atomically.
_WRAPPER = (
    _STAMP
    + r"""
s=$(stamp $$)
"$@"
c=$?
echo "$c" > "$XPM_SSH_EXIT/$$.$s.tmp" && mv -f "$XPM_SSH_EXIT/$$.$s.tmp" "$XPM_SSH_EXIT/$$.$s"
exit "$c"
"""
)

# Arguments: CWD STDOUT STDERR COMMAND... (the environment is exported before).
_SPAWN = (
    _STAMP
    + r"""
XPM_SSH_EXIT=__EXIT_DIR__
mkdir -p "$XPM_SSH_EXIT" || exit 1
# exit codes of jobs that ended more than a week ago are of no use any more
find "$XPM_SSH_EXIT" -type f -mtime +7 -delete 2>/dev/null
export XPM_SSH_EXIT
cd "$1" || exit 1
out=$2 err=$3
shift 3
# Not a process group leader (no job control in sh -c): setsid makes the job lead its own
# session without forking, so $! is the job's pid, and it outlives the SSH connection.
setsid sh -c '__WRAPPER__' xpm-job "$@" </dev/null >>"$out" 2>>"$err" &
p=$!
echo "$p $(stamp $p)"
""".replace("__EXIT_DIR__", EXIT_DIR).replace("__WRAPPER__", _WRAPPER.replace("'", "'\\''"))
)

# readf PATH: prints "F BASE64" (its content) or "M" (missing or unreadable).
_READ_ONE = r"""
readf() {
    if [ -f "$1" ] && b=$(base64 -w0 2>/dev/null <"$1"); then echo "F $b"; else echo M; fi
}
"""

# Arguments, for each job: PID:START N DIR BASE_1 ... BASE_N (START may be empty; the job's
# files are DIR + BASE_i). Prints "PID R" (running) or "PID F CODE" (finished; CODE is "-"
# when unknown) followed by one readf line per file, read after the end was seen: the state of
# every job of a host and the markers of those that ended, in one round trip.
_PROCESSES = (
    _STAMP
    + _READ_ONE
    + r"""
d=__EXIT_DIR__
while [ $# -ge 3 ]; do
    p=${1%%:*} s=${1#*:} n=$2 dir=$3
    shift 3
    if now=$(stamp "$p") && { [ -z "$s" ] || [ "$now" = "$s" ]; }; then
        echo "$p R"
        shift "$n"
    else
        c=-
        [ -n "$s" ] && [ -r "$d/$p.$s" ] && read -r c < "$d/$p.$s"
        echo "$p F ${c:--}"
        while [ "$n" -gt 0 ]; do
            readf "$dir$1"
            shift
            n=$((n - 1))
        done
    fi
done
""".replace("__EXIT_DIR__", EXIT_DIR)
)

# Arguments: PATH ... Prints a readf line for each, in order: files of many jobs in one round trip.
_READ_FILES = (
    _READ_ONE
    + r"""
for f in "$@"; do readf "$f"; done
"""
)

# Arguments: SIGNAL PID. Signals the process group the job leads, or the process alone.
_KILL = r"""
kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null || true
"""

# Arguments: WAIT PATH, WAIT being "forever", "once" or seconds. Holds an flock on PATH while
# the channel's stdin stays open (the driver holds it), and prints "locked" once it holds it.
_LOCK = r"""
case $1 in forever) w= ;; once) w=-n ;; *) w="-w $1" ;; esac
exec flock -x $w -E 75 "$2" -c 'echo locked; exec cat >/dev/null'
"""


def _sh(script: str, args: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in ("sh", "-c", script, "sh", *args))


def command_line(args: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """A command to run ``args`` in ``cwd`` with ``env`` added to the environment."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in (env or {}).items()]
    if cwd is not None:
        lines.append(f"cd {shlex.quote(cwd)} || exit 1")
    lines.append('exec "$@"')
    return _sh("\n".join(lines), args)


def spawn_line(args: Sequence[str], *, cwd: str, env: Mapping[str, str], stdout: str, stderr: str) -> str:
    exports = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
    return _sh(exports + _SPAWN, [cwd, stdout, stderr, *args])


def process_arguments(pid: int, start: str | None, files: Sequence[str] = ()) -> list[str]:
    """The arguments of :func:`processes_line` for one process and the files to read if it ended
    (their common directory is given once: most of a job's markers' paths)."""
    directory = posixpath.commonprefix(list(files))
    directory = directory[: directory.rfind("/") + 1]
    return [f"{pid}:{start or ''}", str(len(files)), directory, *(path[len(directory):] for path in files)]


def processes_line(arguments: Sequence[str]) -> str:
    """Reads processes (and files), given the arguments :func:`process_arguments` made."""
    return _sh(_PROCESSES, arguments)


def read_files_line(paths: Sequence[str]) -> str:
    return _sh(_READ_FILES, list(paths))


def kill_line(pid: int, *, force: bool) -> str:
    return _sh(_KILL, ["KILL" if force else "TERM", str(pid)])


def lock_line(path: str, timeout: float | None) -> str:
    wait = "forever" if timeout is None else "once" if timeout <= 0 else f"{timeout:.3f}"
    return _sh(_LOCK, [wait, path])


#: flock's exit code when the lock is held by someone else (``-E 75``).
LOCK_BUSY = 75
