#!/usr/bin/env bash
# Get a Docker engine to build and run the images under docker_images/.
#
#   eval "$(scripts/docker_engine.sh start)"   # use or start an engine, export DOCKER_HOST
#   scripts/docker_engine.sh status            # which engine answers, and who started it
#   eval "$(scripts/docker_engine.sh env)"     # export DOCKER_HOST of an engine that answers
#   scripts/docker_engine.sh stop              # stop the engine, only if `start` started it
#
# `start` first uses an engine that already answers: the one at $DOCKER_HOST, else the
# default socket, else the private one below. Otherwise (root on Debian) it installs
# docker.io with apt-get when dockerd is missing and starts a private dockerd:
#   data root  $AIC_DOCKER_ROOT      (default /var/lib/aic-docker; kept across runs so
#                                     built images and layers stay cached)
#   exec root  $AIC_DOCKER_EXEC_ROOT (default /run/aic-docker)
#   socket     unix://$AIC_DOCKER_EXEC_ROOT/docker.sock, pidfile and log beside it.
# Extra dockerd flags can be given in AIC_DOCKERD_FLAGS (word-split).
# Only stdout carries the `export DOCKER_HOST=...` line; messages go to stderr.
set -euo pipefail

DATA_ROOT="${AIC_DOCKER_ROOT:-/var/lib/aic-docker}"
EXEC_ROOT="${AIC_DOCKER_EXEC_ROOT:-/run/aic-docker}"
SOCK="$EXEC_ROOT/docker.sock"
OWN_HOST="unix://$SOCK"
PIDFILE="$EXEC_ROOT/dockerd.pid"
MARKER="$EXEC_ROOT/started-by-aic"   # holds the pid of a dockerd this script started
LOG="$EXEC_ROOT/dockerd.log"
WAIT_S="${AIC_DOCKER_WAIT_S:-90}"
DEFAULT_HOST="unix:///var/run/docker.sock"

msg() { echo "docker_engine: $*" >&2; }
die() { msg "error: $*"; exit 1; }

answers() { # answers HOST: true if a docker engine answers there
    command -v docker >/dev/null 2>&1 || return 1
    DOCKER_HOST="$1" timeout 20 docker info >/dev/null 2>&1
}

find_engine() { # prints the DOCKER_HOST of an engine that answers
    local h
    for h in "${DOCKER_HOST:-}" "$DEFAULT_HOST" "$OWN_HOST"; do
        [ -n "$h" ] || continue
        if answers "$h"; then echo "$h"; return 0; fi
    done
    return 1
}

our_pid() { # prints the pid of a live dockerd that this script started
    local pid
    [ -f "$MARKER" ] && [ -f "$PIDFILE" ] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [ -n "$pid" ] && [ "$pid" = "$(cat "$MARKER" 2>/dev/null || true)" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # guard against a recycled pid
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "dockerd" || return 1
    echo "$pid"
}

print_env() { echo "export DOCKER_HOST=$1"; }

install_docker() {
    [ "$(id -u)" = 0 ] || die "dockerd is missing and we are not root: install docker (docker.io) or set DOCKER_HOST"
    command -v apt-get >/dev/null 2>&1 || die "dockerd is missing and apt-get is not available: install docker or set DOCKER_HOST"
    msg "installing docker.io with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends docker.io; } >&2 \
        || die "apt-get install docker.io failed"
}

start_private() {
    [ "$(id -u)" = 0 ] || die "no docker engine answers and only root can start one (set DOCKER_HOST to a running engine)"
    if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
        install_docker
    fi
    command -v dockerd >/dev/null 2>&1 || die "dockerd still missing after install"

    mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
    chmod 711 "$EXEC_ROOT"

    if pid="$(our_pid)"; then
        msg "our dockerd (pid $pid) is running but does not answer yet; waiting"
    else
        # a pidfile left by a dead dockerd (e.g. after a reboot) makes dockerd refuse to start
        if [ -f "$PIDFILE" ]; then
            old="$(cat "$PIDFILE" 2>/dev/null || true)"
            if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
                die "a process (pid $old) holds $PIDFILE but the engine does not answer at $OWN_HOST; see $LOG"
            fi
            rm -f "$PIDFILE"
        fi
        rm -f "$MARKER" "$SOCK"

        local flags=(
            --data-root "$DATA_ROOT"
            --exec-root "$EXEC_ROOT/exec"
            --pidfile "$PIDFILE"
            -H "$OWN_HOST"
            --storage-driver overlay2
        )
        # Without working iptables the bridge network cannot NAT; fall back to no iptables
        # (containers then need --network host for outside access and -p does not publish).
        if ! iptables -t nat -L -n >/dev/null 2>&1; then
            msg "warning: iptables does not work here; starting dockerd with --iptables=false (use --network host)"
            flags+=(--iptables=false --ip-masq=false)
        fi
        # shellcheck disable=SC2206
        [ -n "${AIC_DOCKERD_FLAGS:-}" ] && flags+=(${AIC_DOCKERD_FLAGS})

        msg "starting dockerd: data root $DATA_ROOT, socket $OWN_HOST, log $LOG"
        # setsid + nohup: the engine outlives this shell; stdin from /dev/null
        setsid nohup dockerd "${flags[@]}" </dev/null >>"$LOG" 2>&1 &
        local launched=$!
        # dockerd writes its pidfile itself; wait for it
        local _
        for _ in $(seq 1 50); do
            [ -s "$PIDFILE" ] && break
            kill -0 "$launched" 2>/dev/null || break
            sleep 0.2
        done
        if [ -s "$PIDFILE" ]; then
            cat "$PIDFILE" >"$MARKER"
        else
            echo "$launched" >"$MARKER"
        fi
    fi

    local deadline=$((SECONDS + WAIT_S))
    while [ $SECONDS -lt $deadline ]; do
        if answers "$OWN_HOST"; then
            # the pidfile may have been written late
            [ -s "$PIDFILE" ] && cat "$PIDFILE" >"$MARKER"
            msg "engine ready at $OWN_HOST (dockerd pid $(cat "$MARKER"))"
            return 0
        fi
        if ! kill -0 "$(cat "$MARKER")" 2>/dev/null; then
            rm -f "$MARKER"
            msg "dockerd exited; last log lines:"
            tail -n 20 "$LOG" >&2 || true
            die "dockerd failed to start"
        fi
        sleep 1
    done
    msg "last log lines:"; tail -n 20 "$LOG" >&2 || true
    die "dockerd did not answer within ${WAIT_S}s (it is left running: pid $(cat "$MARKER"); '$0 stop' stops it)"
}

cmd_start() {
    local h
    if h="$(find_engine)"; then
        if [ "$h" = "$OWN_HOST" ] && our_pid >/dev/null; then
            msg "engine already running at $h (started by this script)"
        else
            msg "using the engine that answers at $h"
        fi
        print_env "$h"
        return 0
    fi
    start_private
    print_env "$OWN_HOST"
}

cmd_stop() {
    local pid
    if ! pid="$(our_pid)"; then
        if [ -f "$MARKER" ]; then
            msg "the dockerd this script started is gone; cleaning up"
            rm -f "$MARKER"
        else
            msg "no engine started by this script is running; nothing to stop"
        fi
        return 0
    fi
    msg "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
        msg "dockerd did not exit in 30s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    fi
    kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) is still alive"
    rm -f "$MARKER"
    msg "stopped"
}

cmd_status() {
    local h pid
    if h="$(find_engine)"; then
        if [ "$h" = "$OWN_HOST" ] && pid="$(our_pid)"; then
            msg "running at $h (started by this script, dockerd pid $pid, data root $DATA_ROOT)"
        else
            msg "running at $h (not started by this script)"
        fi
        DOCKER_HOST="$h" docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}' >&2 || true
        return 0
    fi
    if pid="$(our_pid)"; then
        msg "our dockerd (pid $pid) is alive but does not answer at $OWN_HOST; see $LOG"
    else
        msg "no docker engine answers"
    fi
    return 1
}

cmd_env() {
    local h
    h="$(find_engine)" || die "no docker engine answers (run: eval \"\$($0 start)\")"
    print_env "$h"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
