#!/usr/bin/env bash
# Start a real OpenSSH server on 127.0.0.1 for xpm-ssh's tests (Debian 12, as root, no systemd).
#
# Key authentication only, a non-standard port, and strict host keys on the client side: the
# server's host key and the client's key pair are made here, in the state directory, and
# nothing in ~/.ssh or /etc/ssh is touched. Idempotent: a server already running with an
# unchanged configuration is left as it is; its pid is recorded in $DIR/sshd.pid and
# stop-sshd.sh stops exactly that process.
#
# What the tests read (keep in sync with plugins/xpm-ssh/tests/conftest.py): $DIR/server.env,
#   XPM_SSH_CI_HOST XPM_SSH_CI_PORT XPM_SSH_CI_USER XPM_SSH_CI_KEY XPM_SSH_CI_KNOWN_HOSTS
#   XPM_SSH_CI_SSH_CONFIG XPM_SSH_CI_ALIAS XPM_SSH_CI_DIR
# and $DIR/ssh_config, which names the server "xpm-ssh-ci" (HostName, Port, User, IdentityFile,
# UserKnownHostsFile, StrictHostKeyChecking yes).
#
# Environment (all optional):
#   XPM_SSH_CI_DIR   state: keys, configuration, pid file, log  [/tmp/xpm-ssh-ci]
#   XPM_SSH_CI_PORT  port on 127.0.0.1                          [2222]
#   XPM_SSH_CI_USER  login user, created if missing             [the invoking user]
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

DIR=${XPM_SSH_CI_DIR:-/tmp/xpm-ssh-ci}
PORT=${XPM_SSH_CI_PORT:-2222}
LOGIN=${XPM_SSH_CI_USER:-${SUDO_USER:-$(id -un)}}
ALIAS=xpm-ssh-ci
TIMEOUT=30

say() { printf '[start-sshd %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "run me as root (sshd switches to the login user)"

# ours: the pid file names a live sshd (not a pid reused by another program).
ours() {
    local pid
    [ -s "$DIR/sshd.pid" ] || return 1
    pid=$(tr -dc 0-9 <"$DIR/sshd.pid")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ]
}

# 1. The package. Its postinst must not start the system's sshd on port 22: a policy-rc.d
#    forbids it, removed afterwards only when this script wrote it.
if [ ! -x /usr/sbin/sshd ]; then
    say "installing openssh-server"
    wrote_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        wrote_policy=1
    fi
    apt_install() {
        apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends \
            openssh-server openssh-client >>/tmp/xpm-ssh-ci-apt.log 2>&1
    }
    status=0
    apt_install || { apt-get update -q -o DPkg::Lock::Timeout=600 >>/tmp/xpm-ssh-ci-apt.log 2>&1; apt_install; } || status=$?
    [ "$wrote_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$status" = 0 ] || fail "apt-get install openssh-server failed (see /tmp/xpm-ssh-ci-apt.log)"
fi

# 2. The login user. Without PAM (its session modules fail in containers) sshd refuses accounts
#    whose password field starts with '!' (locked), as useradd leaves them; '*' also means "no
#    password" but is not "locked".
id "$LOGIN" >/dev/null 2>&1 || { useradd -m -s /bin/bash "$LOGIN"; say "created user $LOGIN"; }
if getent shadow "$LOGIN" | cut -d: -f2 | grep -q '^!'; then
    usermod -p '*' "$LOGIN"
fi

# 3. Keys: the server's host key, the client's key pair, and the client's known_hosts.
install -d -m 0755 "$DIR" /run/sshd
[ -s "$DIR/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C xpm-ssh-ci-host -f "$DIR/host_ed25519"
[ -s "$DIR/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C xpm-ssh-ci-client -f "$DIR/client_ed25519"
chown "$LOGIN" "$DIR/client_ed25519" "$DIR/client_ed25519.pub"
chmod 600 "$DIR/client_ed25519"
install -m 0644 "$DIR/client_ed25519.pub" "$DIR/authorized_keys"
key=$(cut -d' ' -f1,2 "$DIR/host_ed25519.pub")
printf '[127.0.0.1]:%s %s\n[localhost]:%s %s\n' "$PORT" "$key" "$PORT" "$key" >"$DIR/known_hosts"
chmod 644 "$DIR/known_hosts"

# 4. The server's configuration: loopback, key-only, its own files.
cat >"$DIR/sshd_config.next" <<CONF
# written by xpm-ssh ci/start-sshd.sh: a throw-away test server, loopback only, keys only
Port $PORT
ListenAddress 127.0.0.1
HostKey $DIR/host_ed25519
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
AllowUsers $LOGIN
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
# the state directory is under world-writable /tmp, which StrictModes rejects
StrictModes no
Subsystem sftp internal-sftp
X11Forwarding no
PrintMotd no
UseDNS no
LogLevel VERBOSE
# the tests open many channels on one connection, and a few connections at once
MaxSessions 64
MaxStartups 64:30:128
CONF
/usr/sbin/sshd -t -f "$DIR/sshd_config.next" || fail "the generated sshd_config is invalid"
changed=1
cmp -s "$DIR/sshd_config.next" "$DIR/sshd_config" 2>/dev/null && changed=0
mv -f "$DIR/sshd_config.next" "$DIR/sshd_config"

# 5. What clients read: an ssh_config with a Host alias, and server.env for the tests.
cat >"$DIR/ssh_config" <<CONF
Host $ALIAS
    HostName 127.0.0.1
    Port $PORT
    User $LOGIN
    IdentityFile $DIR/client_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $DIR/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
CONF
cat >"$DIR/server.env" <<CONF
XPM_SSH_CI_DIR=$DIR
XPM_SSH_CI_HOST=127.0.0.1
XPM_SSH_CI_PORT=$PORT
XPM_SSH_CI_USER=$LOGIN
XPM_SSH_CI_KEY=$DIR/client_ed25519
XPM_SSH_CI_KNOWN_HOSTS=$DIR/known_hosts
XPM_SSH_CI_SSH_CONFIG=$DIR/ssh_config
XPM_SSH_CI_ALIAS=$ALIAS
CONF

# 6. Start (or restart after a configuration change) and wait until a key login works.
if ours && [ "$changed" = 1 ]; then
    say "configuration changed: restarting sshd"
    kill "$(cat "$DIR/sshd.pid")"
    for _ in $(seq 50); do ours || break; sleep 0.1; done
fi
if ours; then
    say "sshd already running (pid $(cat "$DIR/sshd.pid"))"
else
    /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
fi
deadline=$(($(date +%s) + TIMEOUT))
until runuser -u "$LOGIN" -- ssh -F "$DIR/ssh_config" "$ALIAS" true >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 20 "$DIR/sshd.log" >&2; fail "no key login within $TIMEOUT s"; }
    sleep 0.2
done
say "sshd ready on 127.0.0.1:$PORT for $LOGIN (pid $(cat "$DIR/sshd.pid")); try: ssh -F $DIR/ssh_config $ALIAS"
