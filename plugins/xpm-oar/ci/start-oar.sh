#!/usr/bin/env bash
# Start a real single-machine OAR 2.5 cluster on 127.0.0.1 for xpm-oar's tests (Debian 12, as root).
#
# Installs OAR's server, node and user parts when missing, creates a private PostgreSQL cluster
# (127.0.0.1:$XPM_OAR_CI_PG_PORT), writes /etc/oar/oar.conf, starts the node's sshd
# (127.0.0.1:6667) and the server (Almighty, patched to listen on 127.0.0.1:6666 only), and
# declares one node "localhost" with $XPM_OAR_CI_CORES core resources. No systemd: daemons are
# started directly and their pids recorded under $XPM_OAR_CI_DIR/run; stop-oar.sh stops exactly
# those. Idempotent: what already runs with an unchanged configuration is left alone.
#
# What the tests rely on (keep in sync with plugins/xpm-oar/tests/):
#   - OAR refuses jobs from root and oar (an admission rule): jobs are submitted as the
#     unprivileged user $XPM_OAR_CI_USER, created here;
#   - SCHEDULER_MIN_TIME_BETWEEN_2_CALLS=0: a trivial job ends in 2-3 s instead of 11-24 s;
#   - queues "default" and "besteffort" (OAR's own), resources with properties host/cpu/core.
#
# Environment (all optional):
#   XPM_OAR_CI_DIR      state, logs, pid files             [/tmp/xpm-oar-ci]
#   XPM_OAR_CI_USER     unprivileged submitter             [xpmoar]
#   XPM_OAR_CI_CORES    core resources on node localhost   [4]
#   XPM_OAR_CI_PG_PORT  private PostgreSQL port            [5434]
#   XPM_OAR_CI_TIMEOUT  seconds to wait for each daemon    [90]
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

DIR=${XPM_OAR_CI_DIR:-/tmp/xpm-oar-ci}
SUBMITTER=${XPM_OAR_CI_USER:-xpmoar}
CORES=${XPM_OAR_CI_CORES:-4}
PG_PORT=${XPM_OAR_CI_PG_PORT:-5434}
TIMEOUT=${XPM_OAR_CI_TIMEOUT:-90}
NODE_SSH_PORT=6667   # fixed by OAR's packaged /etc/oar/sshd_config and OPENSSH_CMD
SERVER_PORT=6666     # Almighty
RUN=$DIR/run LOG=$DIR/log PG=$DIR/pg
CONF=/etc/oar/oar.conf
ALMIGHTY=/usr/lib/oar/Almighty
PG_ADMIN_PASSWORD=xpm-oar-ci-admin
OAR_DB_PASSWORD=xpm-oar-ci-rw
OAR_DB_RO_PASSWORD=xpm-oar-ci-ro

say() { printf '[start-oar %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "run me as root (OAR's daemons need it)"

# running PIDFILE NAME: the pid file names a live process called NAME (not a reused pid).
running() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(head -1 "$1" | tr -dc 0-9)
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
# wait_until WHAT COMMAND...: retry COMMAND for up to $TIMEOUT seconds.
wait_until() {
    local what=$1 deadline=$(($(date +%s) + TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
    say "$what is ready"
}

# ---- packages ---------------------------------------------------------------------------
missing=()
command -v oarsub >/dev/null || missing+=(oar-user oar-user-pgsql)
[ -x /usr/sbin/oar-server ] || missing+=(oar-server oar-server-pgsql)
[ -f /etc/oar/sshd_config ] || missing+=(oar-node)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
perl -MYAML -e1 2>/dev/null || missing+=(libyaml-perl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    # Package postinst scripts must not start sshd on :22, PostgreSQL or OAR: we start our own.
    wrote_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        wrote_policy=1
    fi
    apt_install() {
        apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
    }
    if ! apt_install >"$DIR.apt.log" 2>&1; then
        apt-get update -q -o DPkg::Lock::Timeout=600 >>"$DIR.apt.log" 2>&1 || true
        apt_install >>"$DIR.apt.log" 2>&1 || {
            [ $wrote_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
            tail -n 30 "$DIR.apt.log"; fail "apt-get install failed (log: $DIR.apt.log)"; }
    fi
    [ $wrote_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    say "packages installed"
fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

mkdir -p "$DIR" "$RUN" "$LOG"
chmod 755 "$DIR" "$RUN"
chown oar "$LOG"
HOST=$(hostname)
# OAR resolves its own host name: make sure it maps to loopback.
getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST  # xpm-oar ci/start-oar.sh" >>/etc/hosts
if ! id "$SUBMITTER" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$SUBMITTER"
    say "created the submit user $SUBMITTER"
fi

# ---- /etc/oar/oar.conf ------------------------------------------------------------------
[ -e "$CONF.xpm-orig" ] || cp -a "$CONF" "$CONF.xpm-orig"
overridden='DB_HOSTNAME|DB_PORT|DB_BASE_PASSWD|DB_BASE_PASSWD_RO|SERVER_HOSTNAME|SERVER_PORT|LOG_FILE|LOG_LEVEL|JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD|SCHEDULER_MIN_TIME_BETWEEN_2_CALLS|OPENSSH_CMD'
{
    sed -E "s/^($overridden)=/#&/" "$CONF.xpm-orig"
    cat <<CONF

# ---- written by xpm-oar ci/start-oar.sh: one machine, loopback only ----
DB_HOSTNAME="127.0.0.1"
DB_PORT="$PG_PORT"
DB_BASE_PASSWD="$OAR_DB_PASSWORD"
DB_BASE_PASSWD_RO="$OAR_DB_RO_PASSWORD"
SERVER_HOSTNAME="localhost"
SERVER_PORT="$SERVER_PORT"
LOG_FILE="$LOG/oar.log"
LOG_LEVEL="2"
OPENSSH_CMD="/usr/bin/ssh -p $NODE_SSH_PORT -e none"
# No cpuset/cgroup containment (JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD left unset).
# Schedule on every notification: the default (5 s, then Almighty's 10 s timeout) makes a
# trivial job wait 11-24 s.
SCHEDULER_MIN_TIME_BETWEEN_2_CALLS="0"
CONF
} >"$CONF.new"
conf_changed=1
cmp -s "$CONF.new" "$CONF" && conf_changed=0
mv -f "$CONF.new" "$CONF"
chown oar:root "$CONF" && chmod 600 "$CONF"
touch "$LOG/oar.log" && chown oar "$LOG/oar.log"

# ---- private PostgreSQL -----------------------------------------------------------------
if [ ! -s "$PG/data/PG_VERSION" ]; then
    install -d -o postgres -g postgres -m 0700 "$PG"
    printf '%s\n' "$PG_ADMIN_PASSWORD" >"$PG/.pw"
    chown postgres "$PG/.pw" && chmod 600 "$PG/.pw"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PG/data" -U postgres --pwfile="$PG/.pw" \
        --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PG/initdb.log" 2>&1 \
        || { tail "$PG/initdb.log"; fail "initdb failed"; }
    rm -f "$PG/.pw"
    say "PostgreSQL cluster created"
fi
if running "$PG/data/postmaster.pid" postgres; then
    say "PostgreSQL already running"
else
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG/data" -l "$PG/postgres.log" -w -t "$TIMEOUT" \
        -o "-p $PG_PORT -k $PG -c listen_addresses=127.0.0.1" start >/dev/null \
        || { tail "$PG/postgres.log"; fail "PostgreSQL did not start"; }
    say "PostgreSQL is ready"
fi
ln -sf "$PG/data/postmaster.pid" "$RUN/postgres.pid"
# oar-database --db-is-local would use the default socket and port: go over TCP as admin.
export PGPASSWORD=$PG_ADMIN_PASSWORD
if [ "$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='oar'")" != 1 ]; then
    oar-database --create --db-admin-user=postgres --db-admin-pass="$PG_ADMIN_PASSWORD" \
        >"$LOG/oar-database.log" 2>&1 || { cat "$LOG/oar-database.log"; fail "oar-database --create failed"; }
    say "OAR database created"
fi
unset PGPASSWORD

# ---- node: OAR's own sshd on 127.0.0.1:6667 ---------------------------------------------
OAR_HOME=$(getent passwd oar | cut -d: -f6)
if [ ! -s "$OAR_HOME/.ssh/id_rsa" ]; then   # the oar-node postinst normally made it
    install -d -o oar -g oar -m 0700 "$OAR_HOME/.ssh"
    runuser -u oar -- ssh-keygen -q -t rsa -N '' -f "$OAR_HOME/.ssh/id_rsa"
    printf 'environment="OAR_KEY=1" %s\n' "$(cat "$OAR_HOME/.ssh/id_rsa.pub")" >"$OAR_HOME/.ssh/authorized_keys"
    printf 'Host *\nForwardX11 no\nStrictHostKeyChecking no\nPasswordAuthentication no\nAddressFamily inet\n' \
        >"$OAR_HOME/.ssh/config"
    chown oar:oar "$OAR_HOME/.ssh/"*
fi
[ -s /etc/oar/oar_ssh_host_rsa_key ] || ssh-keygen -q -t rsa -N '' -f /etc/oar/oar_ssh_host_rsa_key
install -d -m 0755 /run/sshd
if running "$RUN/oar-node-sshd.pid" sshd; then
    say "OAR node sshd already running"
else
    /usr/sbin/sshd -f /etc/oar/sshd_config -o ListenAddress=127.0.0.1 -o Port=$NODE_SSH_PORT \
        -o PidFile="$RUN/oar-node-sshd.pid" -E "$LOG/oar-node-sshd.log"
    wait_until "OAR node sshd (127.0.0.1:$NODE_SSH_PORT)" \
        runuser -u oar -- ssh -p $NODE_SSH_PORT -o BatchMode=yes -o ConnectTimeout=5 localhost true \
        || { tail "$LOG/oar-node-sshd.log"; fail "the OAR node sshd does not accept oar's key"; }
fi

# ---- server: Almighty, on loopback --------------------------------------------------------
# OAR 2.5.9 listens on 0.0.0.0:6666 (IO::Socket::INET with LocalPort only): add LocalAddr.
# The original is kept as $ALMIGHTY.xpm-orig; stop-oar.sh with XPM_OAR_CI_PURGE=1 restores it.
if ! grep -q 'LocalAddr => "127.0.0.1"' "$ALMIGHTY"; then
    [ -e "$ALMIGHTY.xpm-orig" ] || cp -a "$ALMIGHTY" "$ALMIGHTY.xpm-orig"
    sed -i 's/IO::Socket::INET->new(LocalPort=> \$serverport,/IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort=> $serverport,/' "$ALMIGHTY"
    grep -q 'LocalAddr => "127.0.0.1"' "$ALMIGHTY" || fail "could not patch $ALMIGHTY to listen on 127.0.0.1"
    say "patched Almighty to listen on 127.0.0.1:$SERVER_PORT"
    conf_changed=1
fi
if [ $conf_changed = 1 ] && running "$RUN/almighty.pid" Almighty; then
    say "configuration changed: restarting Almighty"
    pid=$(tr -dc 0-9 <"$RUN/almighty.pid")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
if running "$RUN/almighty.pid" Almighty; then
    say "Almighty already running"
else
    /usr/sbin/oar-server   # daemonizes and writes /var/run/oar-server.pid
    wait_until "Almighty" sh -c 'p=$(cat /var/run/oar-server.pid) && grep -qx Almighty /proc/$p/comm' \
        || { tail "$LOG/oar.log"; fail "Almighty did not start"; }
    cp /var/run/oar-server.pid "$RUN/almighty.pid"
    wait_until "Almighty on 127.0.0.1:$SERVER_PORT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$SERVER_PORT" \
        || fail "Almighty does not listen on $SERVER_PORT"
fi

# ---- resources: node localhost with $CORES cores -------------------------------------------
have=$(oarnodes -s localhost 2>/dev/null | grep -c ' : ' || true)
if [ "$have" -lt "$CORES" ]; then
    properties=$(oarproperty -l)
    grep -qx host <<<"$properties" || oarproperty -c -a host >/dev/null   # -c: a string property
    grep -qx cpu <<<"$properties" || oarproperty -a cpu >/dev/null
    grep -qx core <<<"$properties" || oarproperty -a core >/dev/null
    for core in $(seq $((have + 1)) "$CORES"); do
        oarnodesetting -a -h localhost -p host=localhost -p cpu=1 -p core="$core" -p cpuset=$((core - 1)) >/dev/null
    done
    say "declared $((CORES - have)) core resource(s) on node localhost"
fi
oarnodesetting -s Alive -h localhost >/dev/null 2>&1 || true
wait_until "node localhost (Alive)" sh -c 'oarnodes -s localhost | grep -q Alive' \
    || fail "node localhost is not Alive (log: $LOG/oar.log)"

# ---- smoke test: the submit user runs a job to its end ------------------------------------
work=$(runuser -u "$SUBMITTER" -- mktemp -d /tmp/xpm-oar-smoke.XXXXXX)
job=$(cd "$work" && runuser -u "$SUBMITTER" -- oarsub -l core=1,walltime=0:01:00 'echo ok' | sed -n 's/^OAR_JOB_ID=//p')
[ -n "$job" ] || fail "oarsub as $SUBMITTER gave no job id"
wait_until "a first job ($job)" sh -c "oarstat -s -j $job | grep -q Terminated" \
    || fail "job $job did not terminate: $(oarstat -s -j "$job")"
rm -rf "$work"
say "OAR is up: submit as $SUBMITTER (runuser -u $SUBMITTER -- oarsub ...), stop with $(dirname "$0")/stop-oar.sh"
