#!/usr/bin/env bash
# The web app's CI: install exactly the locked dependencies, check the generated API types,
# type-check, unit-test, build, and run the end-to-end flows against a real server.
# Needs Node >= 20.19, and for e2e Debian's Chromium (/usr/bin/chromium), python3-aiosmtpd (for
# ../scripts/smtp-sink.py, which receives the server's mail) and the server binary (SERVER_BIN,
# default ../target/debug/server or $CARGO_TARGET_DIR/debug/server).
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund
if [[ -f ../crates/api-http/openapi.json ]]; then
  npm run check:api
else
  echo "ci: crates/api-http/openapi.json is missing; skipping check:api"
fi
npm run typecheck
npm test
npm run build
npm run e2e
