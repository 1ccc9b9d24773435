#!/usr/bin/env bash
# Prove the Dockerfile builds and the image serves, on a machine without a Docker engine.
#
# Podman (Debian's package) builds the Dockerfile on a base image made here: debootstrap a
# minimal Debian bookworm with python3 + python3-venv and import it, then pass it through
# the Dockerfile's BASE_IMAGE argument (no registry is needed for it). The build itself
# fetches the Python dependencies from PyPI. Then it checks:
#   1. the image: non-root user, entry point, volumes, healthcheck, nothing secret baked in;
#   2. a container started as the image says (SQLite, first key in /data/keys) passes its
#      own HEALTHCHECK, and answers GET /health (and / when web/ has pages) from the host;
#   3. a verify-only container whose keys folder is keyset.json alone, mounted read-only,
#      starts and is healthy (the compose `verify-only` profile);
#   4. with a local Postgres: `gymgate db upgrade` then `serve` (the compose migrate → app).
#
# Needs root (debootstrap, podman's root mode); installs podman, runc and debootstrap with
# apt-get when missing. Everything podman stores lives under $CACHE (the base image is kept
# there for the next run; IMAGE_TEST_REBUILD_BASE=1 makes it again). Exit 0 only when every
# check passed; otherwise the last line names what stopped it.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${IMAGE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gymgate-image-test}
MIRROR=${IMAGE_TEST_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=localhost/gymgate-base:bookworm
IMAGE=localhost/gymgate:image-test
PG_PORT_APP=${IMAGE_TEST_PORT:-8651}
PG_URL_ADMIN=${IMAGE_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres}
NAME=gymgate-image-test-$$
TOKEN=image-test-admin-token-0123456789
WORK=$(mktemp -d)
STARTED=$SECONDS
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PG_DB=""

say() { printf '\n==> %s\n' "$*"; }
fail() {
    printf '\nimage-test FAILED after %ss: %s\n' "$((SECONDS - STARTED))" "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "needs root: debootstrap and podman's root mode (run it as root)"

# ---- tools -------------------------------------------------------------------------------
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (apt-get)"
    apt-get update -qq || fail "apt-get update failed: Debian's package mirror is not reachable"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || fail "apt-get could not install ${missing[*]}"
fi

# runc, not crun: crun refuses this machine's hybrid cgroup v1/v2 layout. Podman's default
# limits (nofile 1048576) exceed what the sandbox lets a process set: ask for less.
nofile=$(ulimit -Sn)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
LIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
mkdir -p "$CACHE"
STORAGE_DRIVER=${IMAGE_TEST_STORAGE_DRIVER:-overlay}
pm() {
    podman --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver "$STORAGE_DRIVER" \
        --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}

cleanup() {
    pm rm -f -t 2 "$NAME-sqlite" "$NAME-verify" "$NAME-pg" >/dev/null 2>&1 || true
    pm volume prune -f >/dev/null 2>&1 || true
    # Drop older runs' untagged layers; this run's stay as the next build's cache.
    pm image prune -f --filter "until=$STARTED_AT" >/dev/null 2>&1 || true
    if [ -n "$PG_DB" ]; then
        psql -q "$PG_URL_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

say "podman $(podman --version | awk '{print $3}'), storage $STORAGE_DRIVER under $CACHE"
if ! pm info >"$WORK/info.log" 2>&1; then
    if [ "$STORAGE_DRIVER" = overlay ]; then
        echo "overlay storage unavailable here, falling back to vfs"
        STORAGE_DRIVER=vfs
        pm info >"$WORK/info.log" 2>&1 ||
            fail "podman cannot start (vfs storage): $(tail -n1 "$WORK/info.log")"
    else
        fail "podman cannot start: $(tail -n1 "$WORK/info.log")"
    fi
fi

# ---- the base image ----------------------------------------------------------------------
if [ "${IMAGE_TEST_REBUILD_BASE:-0}" = 1 ] || ! pm image exists "$BASE_IMAGE"; then
    say "making $BASE_IMAGE: debootstrap bookworm (minbase + python3, python3-venv)"
    rootfs="$CACHE/rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" "$MIRROR" \
        >"$WORK/debootstrap.log" 2>&1 ||
        fail "debootstrap failed (mirror $MIRROR): $(tail -n1 "$WORK/debootstrap.log")"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # pip in the build must trust what this machine trusts (a TLS-inspecting proxy's CA, if
    # any): the test base carries the host's CA bundle, the Dockerfile stays as it is.
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    tar -C "$rootfs" -c . | pm import \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null ||
        fail "podman import of the debootstrapped rootfs failed"
    rm -rf "$rootfs"
fi
pm run --rm "${LIMITS[@]}" --network none "$BASE_IMAGE" python3 -c 'import venv, sys; print(sys.version)' \
    >"$WORK/base.log" 2>&1 || fail "cannot run a container: $(tail -n1 "$WORK/base.log")"
echo "base python: $(head -n1 "$WORK/base.log")"

# ---- build -------------------------------------------------------------------------------
say "building the Dockerfile (BASE_IMAGE=$BASE_IMAGE)"
[ -f web/index.html ] || echo "note: web/index.html is missing: the image will have no pages"
build_started=$SECONDS
pm build --format docker --network host "${LIMITS[@]}" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 || {
    tail -n 25 "$WORK/build.log" >&2
    fail "podman build failed (log above)"
}
echo "built $IMAGE in $((SECONDS - build_started))s"

# ---- 1. the image's configuration --------------------------------------------------------
say "checking the image's configuration"
check() { # description, actual, expected
    if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else fail "$1 is '$2', expected '$3'"; fi
}
inspect() { pm image inspect --format "$1" "$IMAGE"; }
check "user" "$(inspect '{{.Config.User}}')" "10001:10001"
check "entrypoint" "$(inspect '{{join .Config.Entrypoint " "}}')" "gymgate"
check "cmd" "$(inspect '{{join .Config.Cmd " "}}')" "serve --host 0.0.0.0 --port 8000"
# shellcheck disable=SC2016 # a Go template, not shell
volumes=$(inspect '{{range $v, $_ := .Config.Volumes}}{{$v}} {{end}}')
check "volumes" "$volumes" "/data /data/keys "
case "$(inspect '{{json .Config.Healthcheck}}')" in
    *127.0.0.1:8000/health*) echo "ok   healthcheck: GET http://127.0.0.1:8000/health" ;;
    *) fail "the image has no HEALTHCHECK on /health (was it built with --format docker?)" ;;
esac
baked=$(pm run --rm "${LIMITS[@]}" --network none --no-healthcheck --entrypoint find "$IMAGE" /data /app \
    \( -name '*.pem' -o -name 'keyset.json' -o -name '*.db' -o -name '.env' \) -print)
[ -z "$baked" ] || fail "secrets or data baked into the image: $baked"
echo "ok   no keys, database or .env in the image"

# The containers below take payments from the mock provider, so they run with
# GYMGATE_DEV_MODE=1 (without it `gymgate serve` refuses the mock).
# ---- 2. a container as the image runs it -------------------------------------------------
wait_healthy() { # container: poll the image's own HEALTHCHECK for up to 60 s
    for _ in $(seq 1 60); do
        if pm healthcheck run "$1" >/dev/null 2>&1; then return 0; fi
        [ "$(pm inspect -f '{{.State.Running}}' "$1")" = true ] || break
        sleep 1
    done
    pm logs "$1" 2>&1 | tail -n 15 >&2
    fail "container $1 never became healthy (its log above)"
}
http_get() { # container, path: GET from the host inside the container's network namespace
    local pid
    pid=$(pm inspect -f '{{.State.Pid}}' "$1")
    nsenter -t "$pid" -n python3 -c '
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:8000" + sys.argv[1], timeout=5) as reply:
    print(reply.status, reply.read(200).decode("utf-8", "replace").replace("\n", " "))
' "$2"
}

say "running the image with its defaults (SQLite in /data, keys in /data/keys, no network)"
# The container gets a network namespace of its own (loopback only): port 8000 inside it
# clashes with nothing on the host.
pm run -d "${LIMITS[@]}" --network none --health-interval disable --name "$NAME-sqlite" \
    -e GYMGATE_ADMIN_TOKEN="$TOKEN" -e GYMGATE_DEV_MODE=1 "$IMAGE" >/dev/null 2>"$WORK/run.log" ||
    fail "podman run failed: $(grep -v systemd "$WORK/run.log" | tail -n1)"
wait_healthy "$NAME-sqlite"
echo "ok   HEALTHCHECK passes"
health=$(http_get "$NAME-sqlite" /health)
check "GET /health" "$health" '200 {"status":"ok"}'
if [ -f web/index.html ]; then
    page=$(http_get "$NAME-sqlite" /) || fail "GET / failed: GYMGATE_WEB_DIR pages not served"
    echo "ok   GET / serves web/: ${page:0:70}"
fi
check "process user" "$(pm exec "$NAME-sqlite" id -u)" "10001"
keys=$(pm exec "$NAME-sqlite" sh -c 'cd /data/keys && stat -c "%a %n" *.pem keyset.json')
echo "ok   first key made in the volume: $(echo "$keys" | tr '\n' ' ')"
echo "$keys" | grep -q '^600 .*\.pem$' || fail "the private key is not mode 600: $keys"
pm exec "$NAME-sqlite" test -f /data/gymgate.db || fail "no SQLite file at /data/gymgate.db"
echo "ok   SQLite database at /data/gymgate.db"

# ---- 3. verify-only: keyset.json alone, read-only ---------------------------------------
say "running a verify-only container (keyset.json only, mounted read-only)"
mkdir -m 755 "$WORK/verify-keys"
pm exec "$NAME-sqlite" cat /data/keys/keyset.json >"$WORK/verify-keys/keyset.json"
chmod 644 "$WORK/verify-keys/keyset.json"
pm run -d "${LIMITS[@]}" --network none --health-interval disable --name "$NAME-verify" \
    -v "$WORK/verify-keys:/data/keys:ro" -e GYMGATE_ADMIN_TOKEN="$TOKEN" -e GYMGATE_DEV_MODE=1 "$IMAGE" \
    >/dev/null 2>"$WORK/run.log" || fail "podman run (verify-only) failed"
wait_healthy "$NAME-verify"
check "verify-only GET /.well-known/jwks.json" \
    "$(http_get "$NAME-verify" /.well-known/jwks.json | cut -c1-12)" '200 {"keys":'
[ "$(ls "$WORK/verify-keys")" = keyset.json ] || fail "the verify-only instance wrote keys"
echo "ok   verify-only instance is healthy and its keys folder still holds keyset.json alone"

# ---- 4. Postgres: migrate, then serve ----------------------------------------------------
if command -v psql >/dev/null && psql -q "$PG_URL_ADMIN" -c 'SELECT 1' >/dev/null 2>&1; then
    say "Postgres: gymgate db upgrade, then serve on 127.0.0.1:$PG_PORT_APP (host network)"
    PG_DB=gymgate_image_test_$$
    psql -q "$PG_URL_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
    pg_host=${PG_URL_ADMIN#postgresql://}
    db_url="postgresql+asyncpg://${pg_host%/*}/$PG_DB"
    pm run --rm "${LIMITS[@]}" --network host --no-healthcheck -e GYMGATE_DATABASE_URL="$db_url" "$IMAGE" \
        db upgrade >"$WORK/migrate.log" 2>&1 ||
        fail "gymgate db upgrade against Postgres failed: $(tail -n1 "$WORK/migrate.log")"
    echo "ok   migrate: $(tail -n1 "$WORK/migrate.log")"
    pm run -d "${LIMITS[@]}" --network host --health-interval disable --name "$NAME-pg" \
        -e GYMGATE_DATABASE_URL="$db_url" -e GYMGATE_ADMIN_TOKEN="$TOKEN" -e GYMGATE_DEV_MODE=1 "$IMAGE" \
        serve --host 127.0.0.1 --port "$PG_PORT_APP" >/dev/null 2>"$WORK/run.log" ||
        fail "podman run (Postgres) failed"
    for _ in $(seq 1 60); do
        reply=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' \
            "http://127.0.0.1:$PG_PORT_APP/health" 2>/dev/null) && break
        sleep 1
    done
    check "Postgres-backed GET /health (from the host)" "${reply:-no answer}" '{"status":"ok"}'
else
    echo "skipped the Postgres check: no Postgres answers at $PG_URL_ADMIN"
fi

printf '\nimage-test passed in %ss (build %s)\n' "$((SECONDS - STARTED))" "$IMAGE"
