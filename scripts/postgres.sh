#!/usr/bin/env bash
# A private PostgreSQL cluster for the gateway's usage tests and benchmarks: its own data
# directory, port and socket directory, listening on 127.0.0.1 only, trusted local logins.
#
#   eval "$(scripts/postgres.sh start)"   # exports AIC_POSTGRES_URL and AIC_POSTGRES_DIR
#   scripts/postgres.sh stop [DIR]        # stops that cluster and removes its folder ($AIC_POSTGRES_DIR)
#   scripts/postgres.sh status [DIR]
#
# `start` finds pg_ctl and initdb on PATH or under /usr/lib/postgresql/*/bin; when they are
# missing it installs Debian's `postgresql` with apt-get (root only). initdb refuses to run as
# root: as root the cluster belongs to the `postgres` user (created when missing). Each start
# makes a new cluster in a new folder (AIC_POSTGRES_ROOT, default /tmp), on a free port
# (AIC_POSTGRES_PORT to choose one), so that several sessions never share one. Commits are
# asynchronous (synchronous_commit=off: a crash of the machine may lose the last commits, never
# corrupt), as the gateway's SQLite database in WAL mode with synchronous=NORMAL.
# Only stdout carries the `export` lines; messages go to stderr.
set -euo pipefail

MARKER="aic-postgres"
msg() { echo "postgres: $*" >&2; }
die() { msg "error: $*"; exit 1; }

find_bin() { # prints the folder of pg_ctl and initdb
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

install_postgres() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed (needs root and apt-get to install it)"
    msg "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -q -o DPkg::Lock::Timeout=300)
    { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends postgresql; } >&2 || die "apt-get install postgresql failed"
}

owner() { # the user the cluster runs as
    if [ "$(id -u)" != 0 ]; then id -un; return; fi
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres >&2 || die "cannot create the postgres user"
    fi
    echo postgres
}

as_owner() { # as_owner USER COMMAND...: run as the cluster's owner
    local user="$1"; shift
    if [ "$user" = "$(id -un)" ]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local bin user dir port
    bin="$(find_bin)" || { install_postgres; bin="$(find_bin)" || die "pg_ctl still missing after the install"; }
    user="$(owner)"
    dir="$(mktemp -d "${AIC_POSTGRES_ROOT:-/tmp}/aic-postgres.XXXXXX")"
    touch "$dir/$MARKER"
    chown "$user" "$dir" 2>/dev/null || true
    chmod 700 "$dir"
    port="${AIC_POSTGRES_PORT:-$(free_port)}"
    as_owner "$user" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    as_owner "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
        "-p $port -k $dir -c listen_addresses=127.0.0.1 -c synchronous_commit=off -c max_connections=200" start >&2 \
        || { tail -20 "$dir/server.log" >&2 || true; rm -rf "$dir"; die "pg_ctl start failed"; }
    echo "$user" >"$dir/owner"
    echo "$bin" >"$dir/bin"
    msg "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
    echo "export AIC_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/postgres"
    echo "export AIC_POSTGRES_DIR=$dir"
}

cluster_dir() { # the folder of a cluster this script started
    local dir="${1:-${AIC_POSTGRES_DIR:-}}"
    [ -n "$dir" ] || die "which cluster? give its folder (AIC_POSTGRES_DIR)"
    [ -f "$dir/$MARKER" ] || die "$dir is not a cluster started by this script"
    echo "$dir"
}

stop() {
    local dir
    dir="$(cluster_dir "${1:-}")"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$(cat "$dir/owner")" "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >&2 || msg "pg_ctl stop failed"
    fi
    rm -rf "$dir"
    msg "stopped and removed $dir"
}

status() {
    local dir
    dir="$(cluster_dir "${1:-}")"
    as_owner "$(cat "$dir/owner")" "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" status
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    status) status "${2:-}" ;;
    *) echo "usage: $0 start | stop [DIR] | status [DIR]" >&2; exit 2 ;;
esac
