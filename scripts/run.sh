#!/usr/bin/env bash
# Runs the service on a SQLite file in the working directory, with the web app built and
# served at http://127.0.0.1:8000/. Settings come from the environment or a .env file
# (see .env.example); none are needed.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v npm >/dev/null 2>&1; then
  if [[ ! -f web/dist/index.html || -n "$(find web/src web/index.html web/package-lock.json -newer web/dist/index.html -print -quit)" ]]; then
    echo "building the web app (web/dist)…"
    (cd web && npm ci --no-audit --no-fund && npm run build)
  fi
else
  echo "npm not found: serving the API only (install Node.js 20+ for the web app)" >&2
fi

exec cargo run --release --locked -p server -- "$@"
