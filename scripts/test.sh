#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, every Rust test (unit, integration against
# real PostgreSQL and SQLite, doc tests) and the embedding example.
# PostgreSQL must answer at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
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
