#!/usr/bin/env bash
# The load benchmark in one command: builds the release server, then runs bench/bench.py
# (seeding, wrk scenarios, start-up timing, Markdown results in bench/results/).
#
#   ./bench/run.sh                                   # both backends, 1,000,000 users
#   ./bench/run.sh --backend postgres --users 100000 --duration 10
#   ./bench/run.sh --help                            # every option
#
# Needs: cargo, python3, wrk, psql and a PostgreSQL at --pg-admin-url (default
# postgres://postgres@127.0.0.1:5432, a role that may create databases) for --backend postgres.
# BENCH_SERVER=/path/to/server skips the build and uses that binary; likewise
# BENCH_HASHING_CEILING=/path/to/hashing_ceiling for infra-argon2's example.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v wrk >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing wrk (Debian package)…" >&2
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "wrk not found: install it (Debian/Ubuntu: apt-get install wrk)" >&2
    exit 1
  fi
fi
for tool in python3 psql; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool not found" >&2; exit 1; }
done

for argument in "$@"; do
  if [[ $argument == -h || $argument == --help ]]; then
    exec python3 "$repo/bench/bench.py" --server /bin/true --help
  fi
done

target="${CARGO_TARGET_DIR:-$repo/target}"
server="${BENCH_SERVER:-}"
if [[ -z $server ]]; then
  echo "building the release server (cargo build --release -p server)…" >&2
  (cd "$repo" && CARGO_TARGET_DIR="$target" cargo build --release --locked -p server)
  server="$target/release/server"
fi
# The hashing ceiling (one argon2id verification alone, and every slot busy), measured with
# the server's own hasher. Built on its own: with the server in one command, its dev-only
# dependencies' features would unify into the server's and rebuild it.
ceiling="${BENCH_HASHING_CEILING:-}"
if [[ -z $ceiling ]]; then
  echo "building the hashing ceiling (cargo build --release -p infra-argon2 --example hashing_ceiling)…" >&2
  (cd "$repo" && CARGO_TARGET_DIR="$target" cargo build --release --locked -p infra-argon2 --example hashing_ceiling)
  ceiling="$target/release/examples/hashing_ceiling"
fi

exec python3 "$repo/bench/bench.py" --server "$server" --hashing-ceiling "$ceiling" "$@"
