#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine for Permanence: system packages, the virtualenv, Redis
# (the embedded default's queue) and, with --with-postgres, PostgreSQL for the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_POSTGRES=0
for arg in "$@"; do
  case "$arg" in
    --with-postgres) WITH_POSTGRES=1 ;;
    -h|--help) echo "usage: scripts/setup.sh [--with-postgres]"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

SYSTEM_PACKAGES=(espeak-ng sox libsndfile1 chromium firefox-esr pulseaudio tzdata redis-server)
[ "$WITH_POSTGRES" = 1 ] && SYSTEM_PACKAGES+=(postgresql)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else echo "setup.sh: need root (or sudo) to run: $*" >&2; return 1; fi
}

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 6379; then
  echo "==> starting Redis on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/permanence.log
fi

if [ "$WITH_POSTGRES" = 1 ] && ! port_open 5432; then
  echo "==> starting PostgreSQL on 127.0.0.1:5432"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

for _ in $(seq 1 30); do
  port_open 6379 && { [ "$WITH_POSTGRES" = 0 ] || port_open 5432; } && break
  sleep 1
done
port_open 6379 || { echo "setup.sh: Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
if [ "$WITH_POSTGRES" = 1 ]; then
  port_open 5432 || { echo "setup.sh: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi

# The browser SDK of LiveKit (hand-off in LiveKit mode) comes from the npm registry, never from git.
LIVEKIT_CLIENT_VERSION=2.23.0
livekit_js=console/static/vendor/livekit-client-${LIVEKIT_CLIENT_VERSION}.umd.js
if [ ! -f "$livekit_js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "==> installing npm (for the LiveKit browser SDK)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  echo "==> fetching livekit-client ${LIVEKIT_CLIENT_VERSION} from the npm registry"
  js_tmp=$(mktemp -d)
  (cd "$js_tmp" && npm pack --silent "livekit-client@${LIVEKIT_CLIENT_VERSION}" >/dev/null)
  tar -xzf "$js_tmp"/livekit-client-*.tgz -C "$js_tmp"
  mkdir -p console/static/vendor
  grep -v '^//# sourceMappingURL=' "$js_tmp/package/dist/livekit-client.umd.js" > "$livekit_js"
  cp "$js_tmp/package/LICENSE" console/static/vendor/livekit-client-LICENSE.txt
  rm -rf "$js_tmp"
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> creating the virtualenv in .venv ($("$PYTHON" --version))"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.permanence-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing Permanence and its dependencies (first time: about a minute)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
echo "==> ready"
