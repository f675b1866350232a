#!/usr/bin/env bash
# Installs everything tersane needs on a Debian 12 machine and builds it: apt packages, npm
# dependencies, the TypeScript services, the C runtime, the test images. Idempotent and quick on a
# machine that already has it all, so both `./run.sh up` and `./run.sh test` call it first.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: tersane needs namespaces, cgroups and mounts"

# Debian packages: the runtime's build deps, the components the tests start for real (nats-server,
# runc as the reference runtime, the registry, prometheus, skopeo; apache2-utils for the registry
# tests' htpasswd), and the test images' sources.
APT_PACKAGES=(
  nats-server runc crun docker-registry prometheus skopeo
  apache2-utils
  busybox-static musl-tools
  gcc make libc6-dev pkg-config libseccomp-dev libcap-dev zlib1g-dev libzstd-dev
  iproute2 iptables util-linux procps psmisc openssl ca-certificates curl
  python3
  systemd
  # The CNI reference plugins: bench/network.bench.ts measures them against tersane-net.
  containernetworking-plugins
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# The docker CLI is the engine's client. These machines carry v28 on the PATH; a fresh server may
# have none, and then Debian's docker.io brings a v20.10 CLI. Its own dockerd must never start here.
if ! command -v docker >/dev/null 2>&1; then
  missing+=(docker.io)
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  # Packages like nats-server, docker-registry and prometheus ship services: tersane starts its own
  # instances, so the system ones must stay off.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $had_policy = 1 ] || rm -f "$policy"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "Node.js 20 or later is required (found: $(node --version 2>/dev/null || echo none))"

# npm dependencies, reinstalled only when the lock file changed.
stamp=node_modules/.tersane-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

say "building (proto types, TypeScript, C runtime)"
npm run -s build

say "building test images"
node dist/images/build.js --out images/out

# `tersane` on the PATH points at this checkout.
ln -sf "$here/dist/cli/tersane.js" /usr/local/bin/tersane
chmod +x "$here/dist/cli/tersane.js"
say "ready"
