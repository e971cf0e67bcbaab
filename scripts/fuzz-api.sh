#!/usr/bin/env bash
# Fuzzes the API with schemathesis against the document the server serves: every phase
# (examples, coverage, fuzzing, stateful) and every check, as an admin and as a plain user, on
# SQLite and on PostgreSQL. Any failure or 5xx fails the script. The few checks switched off
# for one operation are in scripts/fuzz/schemathesis.toml, each with its reason.
#
# Usage: scripts/fuzz-api.sh [SERVER_BIN]   (default target/debug/server)
# FUZZ_MAX_EXAMPLES (default 30) bounds the cases per operation and phase; FUZZ_SEED (default
# 1, so that the test command gives the same verdict on every run; `random` for a fresh one)
# seeds the generation. schemathesis is installed into a virtualenv beside the build
# (SCHEMATHESIS_VENV to choose another).
# PostgreSQL comes from TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
server=${1:-${SERVER_BIN:-$target_dir/debug/server}}
examples=${FUZZ_MAX_EXAMPLES:-30}
seed=${FUZZ_SEED:-1}
seed_option=()
[[ $seed == random ]] || seed_option=(--seed "$seed")
venv=${SCHEMATHESIS_VENV:-$target_dir/schemathesis-venv}
admin_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

if [[ ! -x "$venv/bin/st" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

work=$(mktemp -d)
server_pid=
database=
stop() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
  if [[ -n "$database" ]]; then
    psql "$admin_url" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
    database=
  fi
}
trap 'stop; [[ -n "${FUZZ_KEEP:-}" ]] || rm -rf "$work"' EXIT

# No example in the document uses this password, so no generated case can sign in as them.
password='fuzz-otter-ledger-5731'

# The script signs in through a "proxy" address of its own: the fuzzer, which may well guess
# these accounts' passwords from 127.0.0.1 (it reads their emails from the admin list), then
# locks out only itself.
login() {
  local response status
  response=$(curl -s -w '\n%{http_code}' "$base/api/auth/login/" -H 'content-type: application/json' \
    -H 'x-forwarded-for: 192.0.2.1' \
    -d "{\"email\":\"$1\",\"password\":\"$password\"}")
  status=${response##*$'\n'}
  if [[ $status != 200 ]]; then
    echo "signing in as $1 failed: $response (server log and database in $work)" >&2
    return 1
  fi
  jq -er .access <<<"${response%$'\n'*}"
}

signup() {
  curl -sf "$base/api/auth/signup/" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$password\",\"full_name\":\"Fuzz\"}" >/dev/null
}

# The operations that run with the spare account's token (scripts/fuzz/schemathesis.toml).
spare_operations='^(PUT /api/users/change-password/|DELETE /api/users/me/sessions/)'

# Each run gets a fresh database and server: a run as an admin renames, demotes and
# deactivates whatever accounts it finds, and the next run must not inherit that.
for backend in sqlite postgres; do
  for role in admin user; do
    run="$backend-$role"
    if [[ $backend == postgres ]]; then
      database="fuzz_$$_$role"
      psql "$admin_url" -q -c "CREATE DATABASE $database" >/dev/null
      database_url="${admin_url%/*}/$database"
    else
      database_url="sqlite://$work/$run.db?mode=rwc"
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    base="http://127.0.0.1:$port"
    # The per-address limiter is off: every case comes from one address (it has tests of its
    # own).
    RUST_LOG=info "$server" --database-url "$database_url" --bind "127.0.0.1:$port" \
      --trusted-proxies 127.0.0.1 \
      --secret-key "fuzz-secret-key-that-is-long-enough-for-hs256" --rate-limit-burst 0 \
      --admin-email fuzz-admin@example.com --admin-password "$password" \
      --argon2-memory-kib 4096 --argon2-iterations 1 --web-dist /nonexistent \
      >"$work/server-$run.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
      curl -sf "$base/api/health/" >/dev/null && break
      sleep 0.1
    done
    signup fuzz-user@example.com
    signup fuzz-spare@example.com
    signup fuzz-leaver@example.com
    echo "==> schemathesis on $backend as the $role"
    # Separate statements, so that a failed login stops the script (set -e).
    FUZZ_TOKEN=$(login "fuzz-$role@example.com")
    FUZZ_SPARE_TOKEN=$(login fuzz-spare@example.com)
    FUZZ_LEAVER_TOKEN=$(login fuzz-leaver@example.com)
    export FUZZ_TOKEN FUZZ_SPARE_TOKEN FUZZ_LEAVER_TOKEN
    # The spare account's operations first, on their own: an admin's run rewrites and
    # deactivates every account the listing shows, the spare's too, which ends its sessions.
    for filter in --include-name-regex --exclude-name-regex; do
      "$venv/bin/st" --config-file scripts/fuzz/schemathesis.toml run "$base/api/openapi.json" \
        "$filter" "$spare_operations" \
        --max-examples "$examples" "${seed_option[@]}" --no-color || {
          echo "schemathesis found failures on $backend as the $role; the server's log:" >&2
          tail -n 20 "$work/server-$run.log" >&2
          exit 1
        }
    done
    requests=$(grep -c 'finished processing request' "$work/server-$run.log" || true)
    errors=$(grep -c 'status=5[0-9][0-9]' "$work/server-$run.log" || true)
    echo "    $run: $requests requests served, $errors of them 5xx"
    if [[ $requests -eq 0 || $errors -ne 0 ]]; then
      grep 'status=5[0-9][0-9]' "$work/server-$run.log" | head -n 5 >&2
      exit 1
    fi
    stop
  done
done
