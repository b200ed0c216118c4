#!/usr/bin/env bash
# Regenerates the TypeScript types for the CRI v1 API (src/cri/gen/) from
# proto/runtime/v1/api.proto. The output is committed so builds need no codegen.
# Usage: scripts/gen-cri-types.sh [OUT_DIR]   (default src/cri/gen; tests pass
# a temp dir to check that the committed output is up to date)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/gen-proto-types.sh" runtime/v1/api.proto "${1:-$here/../src/cri/gen}" gen-cri-types.sh
