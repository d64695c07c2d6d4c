#!/usr/bin/env bash
# Start a real single-node Slurm cluster on 127.0.0.1 for xpm-slurm's tests (Debian 12, as root).
#
# Installs the Debian packages when missing, writes the configuration, and starts munged, a
# private MariaDB, slurmdbd, slurmctld and slurmd as plain background daemons (no systemd).
# Idempotent: daemons already running with an unchanged configuration are left as they are.
# Every daemon started here records its pid under $XPM_SLURM_CI_DIR/run, and stop-slurm.sh
# stops exactly those processes.
#
# What the tests rely on (keep in sync with plugins/xpm-slurm/tests/):
#   - partition "debug" (default) with MaxTime=10 minutes, so "--time=1:00:00" stays pending
#     with reason PartitionTimeLimit; partition "long" without a time limit;
#   - MaxArraySize=100, so 200 jobs go as two arrays;
#   - accounting through slurmdbd (sacct works), with limits enforced: account "ci" (default of
#     root) and account "cilimit" with MaxSubmitJobs=1 for the submit-limit retry test;
#   - immediate scheduling (no 3 s batches) and KillWait=2 so time-outs end quickly.
#
# Environment (all optional):
#   XPM_SLURM_CI_DIR      state, logs, pid files              [/tmp/xpm-slurm-ci]
#   XPM_SLURM_CI_CPUS     CPUs the node declares              [8]
#   XPM_SLURM_CI_TIMEOUT  seconds to wait for each daemon     [60]
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

DIR=${XPM_SLURM_CI_DIR:-/tmp/xpm-slurm-ci}
CPUS=${XPM_SLURM_CI_CPUS:-8}
TIMEOUT=${XPM_SLURM_CI_TIMEOUT:-60}
CTLD_PORT=6817 SLURMD_PORT=6818 DBD_PORT=6819 DB_PORT=3307
NODE=localhost
CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf
RUN=$DIR/run LOG=$DIR/log
# MariaDB runs as user mysql: its socket, pid file and log live in a directory mysql owns.
DB_DIR=$DIR/mariadb DB_RUN=$DIR/mariadb-run
DB_SOCKET=$DB_RUN/mysqld.sock
DB_PASSWORD=xpm-ci-slurm
MARK="# written by xpm-slurm ci/start-slurm.sh"

say() { printf '[start-slurm %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "run me as root (daemons run as root on this throw-away cluster)"

# running PIDFILE NAME: the pid file names a live process called NAME (not a reused pid).
running() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc 0-9 <"$1")
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
# stop_ours NAME: stop a daemon this script started (by its pid file), waiting for it to exit.
stop_ours() {
    local pidfile=$RUN/$1.pid pid
    running "$pidfile" "$1" || return 0
    pid=$(tr -dc 0-9 <"$pidfile")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}
# install_if_changed NEW TARGET: move NEW over TARGET; succeed when the content changed.
install_if_changed() {
    if cmp -s "$1" "$2"; then rm -f "$1"; return 1; fi
    mv -f "$1" "$2"
}

# ---- packages ---------------------------------------------------------------------------
missing=()
for program in slurmctld slurmd sbatch munged slurmdbd mariadbd; do
    command -v "$program" >/dev/null || missing+=("$program")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Slurm, munge, MariaDB and slurmdbd (missing: ${missing[*]})"
    # Package postinst scripts would start munged and MariaDB with their default
    # configuration (MariaDB on :3306); a policy-rc.d answering 101 forbids that.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt_log=/tmp/xpm-slurm-ci-apt.log
    packages=(slurm-wlm munge mariadb-server slurmdbd)
    apt_install() { apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "${packages[@]}"; }
    if ! apt_install >"$apt_log" 2>&1; then
        # A fresh machine has no package lists yet, or stale ones.
        apt-get update -q -o DPkg::Lock::Timeout=300 >>"$apt_log" 2>&1
        apt_install >>"$apt_log" 2>&1 || { [ $own_policy = 0 ] || rm -f /usr/sbin/policy-rc.d; tail -20 "$apt_log"; fail "apt-get install failed (log: $apt_log)"; }
    fi
    [ $own_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
fi

mkdir -p "$RUN" "$LOG" "$DIR/state" "$DIR/spool" /etc/slurm
chmod 755 "$DIR" "$RUN" "$LOG"
# Slurm daemons resolve this machine's host name; without an /etc/hosts entry that goes to DNS,
# which CI machines may not reach.
if ! grep -Eq "^[^#]*[[:space:]]$(hostname)([[:space:]]|\$)" /etc/hosts; then
    echo "127.0.0.1 $(hostname)   $MARK" >>/etc/hosts
fi

# ---- munge --------------------------------------------------------------------------------
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key --force
    chown munge:munge /etc/munge/munge.key
    chmod 600 /etc/munge/munge.key
fi
if running "$RUN/munged.pid" munged; then
    say "munged already running"
elif munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "a munged not started by this script answers: using it"
else
    rm -f /run/munge/munged.pid
    # --origin=127.0.0.1: munged would otherwise look up the host name.
    runuser -u munge -- /usr/sbin/munged --origin=127.0.0.1 --num-threads=2
    wait_until munged sh -c 'munge -n | unmunge' || fail "munged did not start (see /var/log/munge/munged.log)"
    cp /run/munge/munged.pid "$RUN/munged.pid"
fi

# ---- MariaDB (private datadir, 127.0.0.1:3307) --------------------------------------------
install -d -o mysql -g mysql -m 0755 "$DB_RUN"
if [ ! -d "$DB_DIR/mysql" ]; then
    install -d -o mysql -g mysql -m 0750 "$DB_DIR"
    mariadb-install-db --no-defaults --user=mysql --datadir="$DB_DIR" --skip-test-db \
        --auth-root-authentication-method=socket >"$LOG/mariadb-install.log" 2>&1 ||
        { tail "$LOG/mariadb-install.log"; fail "mariadb-install-db failed"; }
fi
if running "$DB_RUN/mariadbd.pid" mariadbd; then
    say "mariadbd already running"
else
    # --no-defaults: nothing from /etc/mysql; listen on loopback only.
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DB_DIR" \
        --socket="$DB_SOCKET" --pid-file="$DB_RUN/mariadbd.pid" --port=$DB_PORT \
        --bind-address=127.0.0.1 --skip-name-resolve --log-error="$DB_RUN/mariadb.err" \
        --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
    wait_until mariadbd mariadb-admin --no-defaults --socket="$DB_SOCKET" ping ||
        { tail "$DB_RUN/mariadb.err"; fail "mariadbd did not start"; }
fi
ln -sf "$DB_RUN/mariadbd.pid" "$RUN/mariadbd.pid"
# slurmdbd connects over TCP, so the user must exist for 127.0.0.1 (and localhost).
mariadb --no-defaults --socket="$DB_SOCKET" -uroot <<SQL
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL

# ---- slurmdbd -------------------------------------------------------------------------------
cat >"$DBD_CONF.new" <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
# NoInAddrAny (undocumented for slurmdbd, but honoured): listen on 127.0.0.1, not 0.0.0.0.
CommunicationParameters=NoInAddrAny
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
EOF
chmod 600 "$DBD_CONF.new"
if install_if_changed "$DBD_CONF.new" "$DBD_CONF"; then stop_ours slurmdbd; fi
if running "$RUN/slurmdbd.pid" slurmdbd; then
    say "slurmdbd already running"
else
    /usr/sbin/slurmdbd
    # bash's /dev/tcp: no need for ss or nc on a minimal CI image.
    wait_until slurmdbd bash -c "exec 3<>/dev/tcp/127.0.0.1/$DBD_PORT" ||
        { tail "$LOG/slurmdbd.log"; fail "slurmdbd did not start"; }
fi

# ---- slurm.conf -----------------------------------------------------------------------------
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    cp -a "$CONF" "$CONF.before-xpm.$(date +%s)"
    say "saved the existing $CONF next to it"
fi
cat >"$CONF.new" <<EOF
$MARK
ClusterName=xpmci
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
# Bind every daemon to 127.0.0.1 instead of 0.0.0.0.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
# No cgroups on CI machines: plain process tracking.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
MpiDefault=none
SwitchType=switch/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# Limits are enforced so that a submit limit (MaxSubmitJobs) can be tested for real.
AccountingStorageEnforce=associations,limits
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# Schedule at submission instead of in 3 s batches: tests wait less.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# The node declares $CPUS CPUs whatever the machine has, so trivial jobs run side by side.
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=300
KillWait=2
OverTimeLimit=0
InactiveLimit=0
Waittime=0
MaxArraySize=100
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=10:00 State=UP
PartitionName=long Nodes=$NODE MaxTime=INFINITE State=UP
EOF
chmod 644 "$CONF.new"
if install_if_changed "$CONF.new" "$CONF"; then
    say "slurm.conf changed: restarting slurmctld and slurmd if they run"
    stop_ours slurmd
    stop_ours slurmctld
fi

# ---- slurmctld, slurmd ------------------------------------------------------------------------
if running "$RUN/slurmctld.pid" slurmctld; then
    say "slurmctld already running"
else
    /usr/sbin/slurmctld
    wait_until slurmctld scontrol ping || { tail "$LOG/slurmctld.log"; fail "slurmctld did not start"; }
fi
if running "$RUN/slurmd.pid" slurmd; then
    say "slurmd already running"
else
    # The machine's host name is not the node name: force it.
    /usr/sbin/slurmd -N "$NODE"
fi
node_ready() {
    case "$(sinfo -h -n "$NODE" -p debug -o %T 2>/dev/null)" in
        idle | mixed | allocated | completing) return 0 ;;
        down* | drain* | fail*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1; return 1 ;;
        *) return 1 ;;
    esac
}
wait_until "node $NODE" node_ready || { sinfo; tail "$LOG/slurmd.log"; fail "node $NODE did not become idle"; }

# ---- accounts ---------------------------------------------------------------------------------
sacctmgr -i -Q add account ci,cilimit Description=xpm-ci Organization=xpm >/dev/null 2>&1 || true
sacctmgr -i -Q add user root DefaultAccount=ci Account=ci,cilimit >/dev/null 2>&1 || true
sacctmgr -i -Q modify account cilimit set MaxSubmitJobs=1 >/dev/null 2>&1 || true
wait_until "accounts" sh -c "sacctmgr -n -P show assoc user=root account=cilimit format=MaxSubmit | grep -qx 1"

say "Slurm cluster xpmci is up: partitions debug (default, MaxTime 10 min) and long, node $NODE ($CPUS CPUs)"
say "logs in $LOG; stop with $(cd "$(dirname "$0")" && pwd)/stop-slurm.sh"
