#!/usr/bin/env bash
# Set up everything (scripts/setup.sh), then run every test: type check, unit, integration.
# Integration tests need root: they start real registries, berthd, runc, conmon and CNI plugins,
# each in its own temp dirs, and stop exactly what they started.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test: run as root (integration tests mount, create namespaces and run containers)" >&2; exit 1; }
scripts/setup.sh
npm run typecheck
# One runner, one closing summary: unit tests and integration tests together, files one at a time
# (integration tests share the host's mount table and network). Node 20's runner does not expand
# globs, so the files are listed here.
mapfile -t files < <(find test/unit test/integration -name '*.test.ts' | sort)
# A hung test file must not eat CI's whole budget: each test gets 10 minutes, the run 75.
exec timeout --kill-after=30s 75m node --import tsx --test --test-concurrency=1 --test-timeout=600000 \
  --test-reporter=spec "${files[@]}"
