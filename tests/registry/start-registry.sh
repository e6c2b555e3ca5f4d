#!/bin/bash
# start-registry.sh DIR MODE PORT - start a throwaway docker-registry (plain|tls|tls-htpasswd|token) on 127.0.0.1:PORT for tests.
#
# DIR holds everything: config.yml, storage/, registry.log, pid, and for the TLS
# modes ca.crt/ca.key (test CA), server.crt/server.key (SAN IP:127.0.0.1,
# DNS:localhost); token mode adds token-signing.{crt,key}, token.pid, token.log
# (JSON lines, one per token request) and token-server.log (its stderr).
# Existing CA/cert/key files in DIR are reused, so a caller may pre-create the CA.
# Users (tls-htpasswd, token): alice/secret1 (push+pull), bob/secret2 (token: pull only).
# Token mode: token server on 127.0.0.1:$((PORT+1)), service "hako-test-registry",
# issuer "hako-test-issuer"; anonymous may pull public/*.
set -euo pipefail

die() { echo "start-registry.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: $0 DIR plain|tls|tls-htpasswd|token PORT"
DIR=$1 MODE=$2 PORT=$3
case $MODE in plain|tls|tls-htpasswd|token) ;; *) die "unknown mode '$MODE'" ;; esac
case $PORT in ''|*[!0-9]*) die "bad port '$PORT'" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65534 ] || die "port $PORT out of range"
HERE=$(cd "$(dirname "$0")" && pwd)
# distribution reads REGISTRY_* variables as configuration (REGISTRY_AUTH_FILE, a
# client's, would become `auth: file`): none of the caller's reach it.
for v in $(compgen -e | grep "^REGISTRY_" || true); do unset "$v"; done
mkdir -p "$DIR/storage"
DIR=$(cd "$DIR" && pwd)
TPORT=$((PORT + 1))
SERVICE=hako-test-registry
ISSUER=hako-test-issuer

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
alive "$DIR/pid" && die "a registry from $DIR is already running (pid $(cat "$DIR/pid"))"
rm -f "$DIR/pid" "$DIR/token.pid"

# --- certificates (reused when present) -------------------------------------------
ossl() { openssl "$@" 2>>"$DIR/openssl.log" >/dev/null || die "openssl $1 failed, see $DIR/openssl.log"; }
# issue NAME SUBJECT EXTENSIONS: NAME.key + NAME.crt signed by the test CA
issue() {
    [ -s "$DIR/$1.crt" ] && [ -s "$DIR/$1.key" ] && return 0
    ossl req -new -newkey rsa:2048 -nodes -keyout "$DIR/$1.key" -out "$DIR/$1.csr" -subj "$2"
    printf '%b\n' "$3" >"$DIR/$1.ext"
    ossl x509 -req -in "$DIR/$1.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 3650 -sha256 -extfile "$DIR/$1.ext" -out "$DIR/$1.crt"
    rm -f "$DIR/$1.csr" "$DIR/$1.ext"
}
if [ "$MODE" != plain ]; then
    if ! [ -s "$DIR/ca.crt" ] || ! [ -s "$DIR/ca.key" ]; then
        ossl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/ca.key" -out "$DIR/ca.crt" -days 3650 -sha256 \
            -subj "/CN=hako test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    fi
    issue server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth"
fi
if [ "$MODE" = token ]; then
    issue token-signing "/CN=hako test token signer" "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature"
fi

# --- config ----------------------------------------------------------------------
{
    cat <<YAML
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $DIR/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$PORT
  secret: hako-test-secret
YAML
    if [ "$MODE" != plain ]; then
        cat <<YAML
  tls:
    certificate: $DIR/server.crt
    key: $DIR/server.key
YAML
    fi
    case $MODE in
    tls-htpasswd) cat <<YAML
auth:
  htpasswd:
    realm: hako-test
    path: $DIR/htpasswd
YAML
    ;;
    token) cat <<YAML
auth:
  token:
    realm: https://127.0.0.1:$TPORT/token
    service: $SERVICE
    issuer: $ISSUER
    rootcertbundle: $DIR/ca.crt
YAML
    ;;
    esac
} >"$DIR/config.yml"
if [ "$MODE" = tls-htpasswd ]; then
    { htpasswd -Bbn alice secret1; htpasswd -Bbn bob secret2; } | grep . >"$DIR/htpasswd"
fi

# --- start -----------------------------------------------------------------------
CURL=(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --noproxy '*')
[ "$MODE" = plain ] && SCHEME=http || { SCHEME=https; CURL+=(--cacert "$DIR/ca.crt"); }
busy() { [ "$("${CURL[@]}" "$1" 2>/dev/null || true)" != 000 ]; }
busy "$SCHEME://127.0.0.1:$PORT/v2/" && die "something already answers on 127.0.0.1:$PORT"
[ "$MODE" = token ] && busy "https://127.0.0.1:$TPORT/token" && die "something already answers on 127.0.0.1:$TPORT"

# fail_with_log MSG: stop what we started, show the logs, fail
fail_with_log() {
    echo "start-registry.sh: $1" >&2
    for f in "$DIR/registry.log" "$DIR/token-server.log"; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
    done
    "$HERE/stop-registry.sh" "$DIR" >&2 || true
    exit 1
}
# wait_up PIDFILE WHAT URL: up to 10 s for URL to answer anything while the pid lives
wait_up() {
    local i
    for ((i = 0; i < 100; i++)); do
        alive "$1" || fail_with_log "$2 exited during startup"
        busy "$3" && return 0
        sleep 0.1
    done
    fail_with_log "$3 did not answer within 10 s"
}

if [ "$MODE" = token ]; then
    /usr/bin/python3 "$HERE/token_server.py" --port "$TPORT" --cert "$DIR/server.crt" --key "$DIR/server.key" \
        --signing-key "$DIR/token-signing.key" --signing-cert "$DIR/token-signing.crt" \
        --issuer "$ISSUER" --service "$SERVICE" --users alice:secret1:push,pull bob:secret2:pull \
        --anonymous-prefix public/ --log "$DIR/token.log" </dev/null >>"$DIR/token-server.log" 2>&1 &
    echo $! >"$DIR/token.pid"
    wait_up "$DIR/token.pid" "token server" "https://127.0.0.1:$TPORT/token"
fi
docker-registry serve "$DIR/config.yml" </dev/null >>"$DIR/registry.log" 2>&1 &
echo $! >"$DIR/pid"
wait_up "$DIR/pid" docker-registry "$SCHEME://127.0.0.1:$PORT/v2/"
exit 0
