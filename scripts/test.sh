#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, every Rust test (unit, integration against
# real PostgreSQL and SQLite, black-box HTTP, doc tests), the embedding example, and the web
# app's checks, unit tests, build and end-to-end flows in Chromium against the real server.
# Needs PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# Node.js 20+, Debian's Chromium at /usr/bin/chromium (CHROMIUM_BIN to use another) and
# Debian's docker-compose (to validate the compose file; no container engine is needed).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's time is printed when it ends, so a slow stage shows in any CI log.
current=
started=$SECONDS
lap() { [ -z "$current" ] || printf '    (%s: %d s)\n' "$current" $((SECONDS - started)); }
step() {
  lap
  current=$*
  started=$SECONDS
  printf '\n==> %s\n' "$*"
}
trap 'lap; printf "    (whole test command: %d s)\n" "$SECONDS"' EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "the domain crate depends on no runtime, database, web or crypto library"
if cargo tree -p domain -e normal --prefix none | grep -E '^(tokio|sea-orm|sqlx|axum|hyper|jsonwebtoken|argon2) '; then
  echo "domain must stay pure" >&2
  exit 1
fi

# Every build below uses one package set and feature set (the whole workspace, all features),
# so cargo resolves dependency features once and each stage reuses what the one before built.
step "unit and integration tests (builds the library, test, example and server binaries)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --locked --no-fail-fast
else
  cargo test --workspace --all-features --locked --no-fail-fast
fi

step "doc tests"
cargo test --workspace --all-features --locked --doc

step "the embedding example"
# `cargo run -p domain` would resolve features for the domain alone and rebuild its
# dependencies; the binary the tests above built is the same program.
cargo test --workspace --all-features --locked --no-run --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$target_dir/debug/examples/embed"

# The server binary the end-to-end tests drive is the one the black-box tests ran.
export SERVER_BIN="$target_dir/debug/server"

step "docker-compose.yml and the Dockerfile agree with that binary"
/usr/bin/python3 scripts/check-deploy.py "$SERVER_BIN"

step "API fuzzing: schemathesis, every phase and check, as admin and user, on both backends"
scripts/fuzz-api.sh "$SERVER_BIN"

step "web: API types, type-check, unit tests, build, end-to-end (Chromium)"
web/scripts/ci.sh
