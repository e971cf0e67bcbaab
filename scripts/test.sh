#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, every Rust test (unit, integration against
# real PostgreSQL and SQLite, black-box HTTP, doc tests), the embedding example, and the web
# app's checks, unit tests, build and end-to-end flows in Chromium against the real server.
# Needs PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# Node.js 20+, Debian's Chromium at /usr/bin/chromium (CHROMIUM_BIN to use another) and
# Debian's docker-compose (to validate the compose file; no container engine is needed).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "the domain crate depends on no runtime, database, web or crypto library"
if cargo tree -p domain -e normal --prefix none | grep -E '^(tokio|sea-orm|sqlx|axum|hyper|jsonwebtoken|argon2) '; then
  echo "domain must stay pure" >&2
  exit 1
fi

step "the embedding example"
cargo run --quiet --locked -p domain --example embed

step "doc tests"
cargo test --workspace --doc --locked

step "unit and integration tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --locked --no-fail-fast
else
  cargo test --workspace --all-features --locked --no-fail-fast
fi

step "the server binary the end-to-end tests drive"
# Same package set as the tests above, so the features unify the same way and nothing rebuilds.
cargo build --locked --workspace --bins
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export SERVER_BIN="$target_dir/debug/server"

step "docker-compose.yml and the Dockerfile agree with that binary"
/usr/bin/python3 scripts/check-deploy.py "$SERVER_BIN"

step "web: API types, type-check, unit tests, build, end-to-end (Chromium)"
web/scripts/ci.sh
