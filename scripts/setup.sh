#!/usr/bin/env bash
# Install everything berth and its tests need on a Debian 12 machine (as root), then build berth.
# Idempotent: safe to run again. Usage: scripts/setup.sh [--no-apt]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # runtime: OCI runtimes, the container monitor, CNI plugins, the pid-namespace infra process
  runc crun conmon containernetworking-plugins catatonit iproute2 iptables util-linux
  # build: the native addon (mknod, xattrs, mount) is compiled with node-gyp
  python3 make g++
  # tests: a real registry, cross-checks, fixtures, TLS and auth for registry tests
  docker-registry skopeo umoci busybox-static zstd attr openssl apache2-utils jq curl socat psmisc
  # benchmarks: the peer runtime measured side by side
  containerd
)

if [ "${1:-}" != "--no-apt" ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian enables and starts containerd on install; berth's benchmark starts its own instance.
  if systemctl is-enabled containerd >/dev/null 2>&1; then systemctl disable --now containerd >/dev/null 2>&1 || true; fi
fi

# A default pod network for berthd's default CNI conf dir, only where none is configured yet.
CNI_DIR=/etc/cni/net.d
if ! ls "$CNI_DIR"/*.conflist "$CNI_DIR"/*.conf "$CNI_DIR"/*.json >/dev/null 2>&1; then
  mkdir -p "$CNI_DIR"
  cat > "$CNI_DIR/10-berth.conflist" <<'EOT'
{
  "cniVersion": "1.0.0",
  "name": "berth",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "berth0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.85.0.0/16" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOT
  echo "setup: wrote a default pod network to $CNI_DIR/10-berth.conflist (bridge berth0, 10.85.0.0/16)"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
