#!/usr/bin/env bash
# npm run test:interop — G1 interop checks of our server.
#
# Always: the Go-client conformance checklist (protocol.md §6.1) against our G1 mount over
# real HTTP. With a reference server given (OVERSYNC_REFERENCE_URL, OVERSYNC_REFERENCE_JWT_SECRET,
# OVERSYNC_REFERENCE_PG_URL): the differential test against it. This repository never builds
# or starts the reference itself (interop/README.md says how to run it beside us).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  echo "interop: SKIPPED — go is not installed; the Go reference peer (go-oversync) needs it"
  exit 0
fi

if [ -z "${OVERSYNC_REFERENCE_URL:-}" ]; then
  proxy="$(go env GOPROXY | cut -d, -f1)"
  probe="$(curl -s -m 20 -w ' (HTTP %{http_code})' "${proxy%/}/github.com/mobiletoly/go-oversync/@v/list" 2>&1 | tr -s '\n' ' ' || true)"
  echo "interop: no reference server given (OVERSYNC_REFERENCE_URL unset). The reference module"
  echo "interop: github.com/mobiletoly/go-oversync is not obtainable through ${proxy}: ${probe:-no answer}"
  echo "interop: running the G1 conformance checklist against our server; the differential test is skipped"
fi

exec npx vitest run --config interop/vitest.config.ts
