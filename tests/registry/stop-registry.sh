#!/bin/bash
# stop-registry.sh DIR - stop the registry (DIR/pid) and token server (DIR/token.pid) started by start-registry.sh.
# Only those pids are signalled, and only if they still run the expected program
# (guards against a recycled pid). TERM, up to 5 s, then KILL, up to 2 s more.
set -u
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
rc=0

running() {   # PID: true while it exists and is not a zombie
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}
stop_one() {  # PIDFILE EXPECTED-CMDLINE-SUBSTRING
    local f=$1 want=$2 pid i
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    case $pid in ''|*[!0-9]*) rm -f "$f"; return 0 ;; esac
    if running "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$want"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do running "$pid" || break; sleep 0.1; done
        if running "$pid"; then
            kill -KILL "$pid" 2>/dev/null
            for ((i = 0; i < 20; i++)); do running "$pid" || break; sleep 0.1; done
        fi
        running "$pid" && { echo "stop-registry.sh: pid $pid did not exit" >&2; rc=1; return; }
    fi
    rm -f "$f"
}
stop_one "$DIR/pid" docker-registry
stop_one "$DIR/token.pid" token_server.py
exit $rc
