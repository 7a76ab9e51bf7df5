#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for felab's database tests: initdb in a temp dir, a server on a free localhost
# port (trust auth, reachable from this machine only), one database, then gone.
#
#   pg-throwaway.sh run -- CMD ARGS...   start, run CMD with FELAB_TEST_POSTGRES_URL set, stop (also on failure
#                                        or interruption); exits with CMD's status
#   pg-throwaway.sh start                start and print two lines: the URL, then the cluster's folder
#   pg-throwaway.sh stop DIR             stop the cluster started in DIR and delete DIR
#
# Needs Debian's postgresql (`apt-get install -y postgresql`; binaries in /usr/lib/postgresql/*/bin). PostgreSQL
# refuses to run as root, so as root the server runs as the user `nobody`, which owns the temp dir.
set -euo pipefail

usage() { echo "usage: $0 run -- CMD... | start | stop DIR" >&2; exit 2; }

pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
        echo "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: run 'apt-get install -y postgresql'" >&2
        exit 2
    fi
    echo "$d"
}

as_owner() {  # run a server binary as the cluster's owner
    if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local bin dir port
    bin=$(pg_bin)
    dir=$(mktemp -d /tmp/felab-pg.XXXXXX)
    chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown nobody: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
        echo "initdb failed; its log:" >&2; cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    port=$(free_port)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off" start \
        >/dev/null || { echo "postgres did not start; its log:" >&2; cat "$dir/server.log" >&2; rm -rf "$dir"; exit 1; }
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres felab_test
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/felab_test"
    echo "$dir"
}

stop() {
    local dir=$1 bin
    [ -d "$dir/data" ] || { echo "no cluster in $dir" >&2; exit 2; }
    bin=$(pg_bin)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) [ $# = 2 ] || usage; stop "$2" ;;
    run)
        shift; [ "${1:-}" = "--" ] && shift; [ $# -ge 1 ] || usage
        out=$(start); url=$(sed -n 1p <<<"$out"); dir=$(sed -n 2p <<<"$out")
        trap 'stop "$dir"' EXIT
        trap 'exit 130' INT TERM
        echo "throwaway PostgreSQL at $url" >&2
        FELAB_TEST_POSTGRES_URL=$url "$@"
        ;;
    *) usage ;;
esac
