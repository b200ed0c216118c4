#!/usr/bin/env bash
# Build the N-API addon (native/berth_sys.c) with the node-gyp that ships with npm.
set -euo pipefail
cd "$(dirname "$0")/../native"
gyp=${npm_config_node_gyp:-}
if [ -z "$gyp" ] || [ ! -f "$gyp" ]; then
  npm_root=$(npm root -g 2>/dev/null || true)
  for c in "$npm_root/npm/node_modules/node-gyp/bin/node-gyp.js" /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js /usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js; do
    [ -f "$c" ] && { gyp=$c; break; }
  done
fi
[ -n "$gyp" ] || { echo "build-native: node-gyp not found (it ships with npm)" >&2; exit 1; }
# Rebuild only when the source changed.
if [ -f build/Release/berth_sys.node ]; then
  stale=
  for f in *.c *.h binding.gyp; do [ build/Release/berth_sys.node -nt "$f" ] || stale=1; done
  [ -n "$stale" ] || exit 0
fi
# Build against the installed Node's own headers: node-gyp would otherwise download them, and CI
# has no internet. npm sets npm_config_nodedir on this kind of machine; otherwise find them.
nodedir=${npm_config_nodedir:-}
if [ -z "$nodedir" ]; then
  for d in "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" /usr /usr/local; do
    [ -f "$d/include/node/node_api.h" ] && { nodedir=$d; break; }
  done
fi
[ -n "$nodedir" ] || { echo "build-native: Node headers (include/node/node_api.h) not found" >&2; exit 1; }
node "$gyp" rebuild --loglevel=warn --nodedir="$nodedir"
