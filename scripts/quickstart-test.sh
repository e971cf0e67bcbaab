#!/usr/bin/env bash
# Follows README.md's quick start as a newcomer would, on a fresh clone of HEAD: runs the
# shell blocks marked `<!-- quickstart -->` exactly as README prints them (the first one, the
# start command, in the background), then checks what they printed: the server answers, the
# web app is served, the admin exists, the signed-in user sees themself and the admin list
# finds them. Needs port 8000 free, curl and jq. CARGO_TARGET_DIR is shared when set, so the
# release build is the one a later `./scripts/run.sh` reuses.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "quick start: $*" >&2
  echo "--- the server's output ---" >&2
  tail -n 40 "$work/server.log" >&2 || true
  exit 1
}

git clone --quiet "$repo" "$work/users"
cd "$work/users"

# The marked blocks, in README order, one file each.
python3 - "$work" <<'EOF'
import pathlib, re, sys
readme = pathlib.Path("README.md").read_text()
blocks = re.findall(r"<!-- quickstart -->\n```sh\n(.*?)```", readme, re.S)
if len(blocks) != 3:
    sys.exit(f"README.md should mark 3 quick-start blocks, found {len(blocks)}")
for i, block in enumerate(blocks, 1):
    pathlib.Path(sys.argv[1], f"block{i}.sh").write_text(block)
EOF

echo "==> $(cat "$work/block1.sh")"
setsid bash -euo pipefail "$work/block1.sh" >"$work/server.log" 2>&1 &
server_pid=$!
# The first start builds the web app and the release binary: allow for a cold machine.
for _ in $(seq 1 1800); do
  curl -sf localhost:8000/api/health/ >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "the start command exited"
  sleep 1
done
curl -sf localhost:8000/api/health/ >/dev/null || fail "no answer on port 8000 after 30 minutes"
curl -sf localhost:8000/ | grep -q '<div id="root">' || fail "the web app is not served at /"
grep -q 'create-admin' "$work/server.log" || fail "the first start did not say how to create an admin"

echo "==> $(cat "$work/block2.sh")"
bash -euo pipefail "$work/block2.sh" || fail "create-admin failed"

echo "==> the API block"
bash -euo pipefail "$work/block3.sh" >"$work/api.out" || fail "the API block failed"
# It prints the sign-up, the caller's profile and the admin's list, one JSON document each.
jq -se '
  length == 3
  and .[0].user.email == "ada@example.com" and (.[0].access | type) == "string"
  and .[1].email == "ada@example.com" and .[1].role == "user"
  and .[2].count == 1 and .[2].results[0].email == "ada@example.com"
' "$work/api.out" >/dev/null || {
  cat "$work/api.out" >&2
  fail "the API block did not print what README says"
}
echo "quick start: every README command worked"
