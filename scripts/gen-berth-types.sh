#!/usr/bin/env bash
# Regenerates the TypeScript types for berth's own API (src/cri/gen-berth/) from
# proto/berth/v1/berth.proto. The output is committed so builds need no codegen.
# Usage: scripts/gen-berth-types.sh [OUT_DIR]   (default src/cri/gen-berth)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/gen-proto-types.sh" berth/v1/berth.proto "${1:-$here/../src/cri/gen-berth}" gen-berth-types.sh
