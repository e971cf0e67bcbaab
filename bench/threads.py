#!/usr/bin/env python3
"""Where a login's CPU goes, thread by thread, under a login flood.

Seeds users once (SQLite file, or a PostgreSQL database dropped afterwards), then, for each
round and each server binary given (alternating, so that a noisy host disturbs both alike),
starts the server, floods POST /api/auth/login/ with wrk, and reads /proc/<pid>/task/*/stat
and status before and after: CPU time and context switches per login of the hashing threads
(argon2-*), the runtime's workers (tokio-rt-worker), sqlx's SQLite threads, and, on
PostgreSQL, of the PostgreSQL server's processes. "overhead" is the CPU of everything but the
hashing threads as a share of theirs: the part of a login flood's CPU the target of login
throughput (90 % of cores / one verification) leaves to everything else is about a tenth.

    python3 bench/threads.py --server A [--server B …] [--backend sqlite|postgres]
        [--users 100000] [--seconds 12] [--rounds 3]

Python standard library only; reuses bench.py's helpers. Every wait is bounded.
"""

import argparse
import collections
import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the helpers of the load benchmark beside this file)

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def threads_of(pid: int) -> dict[str, list[float]]:
    """CPU seconds and context switches per thread name (digits stripped), plus PostgreSQL's."""
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            status = (task / "status").read_text()
        except OSError:
            continue
        name = re.sub(r"[-_ ]?\d+$", "", stat[stat.index("(") + 1:stat.rindex(")")])
        fields = stat[stat.rindex(")") + 2:].split()
        switches = sum(int(value) for value in re.findall(r"ctxt_switches:\s+(\d+)", status))
        totals[name][0] += (int(fields[11]) + int(fields[12])) / CLOCK_TICK
        totals[name][1] += switches
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            stat = (process / "stat").read_text()
        except OSError:
            continue
        if stat[stat.index("(") + 1:stat.rindex(")")] == "postgres":
            fields = stat[stat.rindex(")") + 2:].split()
            totals["postgres (all processes)"][0] += (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return totals


def flood(binary: Path, env: dict, workdir: Path, args) -> dict:
    server = bench.Server(binary, env, workdir, workdir / "server.log")
    server.start()
    try:
        common = {"BENCH_USERS": args.users, "BENCH_PASSWORD": env["SEED_PASSWORD"]}
        warm = bench.Load("warm", "login.lua", "/api/auth/login/", args.connections, 3, 1, common)
        process, output = bench.start_wrk(warm, server.port, workdir)
        bench.wrk_result(process, output, 60)
        before = threads_of(server.pid)
        load = bench.Load("threads", "login.lua", "/api/auth/login/", args.connections,
                          args.seconds, 1, common)
        process, output = bench.start_wrk(load, server.port, workdir)
        result = bench.wrk_result(process, output, args.seconds + 60)
        after = threads_of(server.pid)
    finally:
        server.stop()
    logins = result["requests"] - result.get("non2xx", 0)
    if logins <= 0 or result.get("non2xx", 0):
        raise RuntimeError(f"the flood failed: {result}")
    per_login = {name: ((after[name][0] - before.get(name, [0, 0])[0]) / logins * 1e6,
                        (after[name][1] - before.get(name, [0, 0])[1]) / logins)
                 for name in after}
    return {"rate": logins / args.seconds, "threads": per_login}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", action="append", required=True, type=Path)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="users-threads-") as work:
        workdir = Path(work)
        database = None
        if args.backend == "postgres":
            database = f"threads_{os.getpid()}"
            bench.psql(args.pg_admin_url, f'CREATE DATABASE "{database}"')
            url = f"{args.pg_admin_url.rstrip('/')}/{database}?sslmode=disable"
        else:
            url = f"sqlite://{workdir / 'threads.db'}?mode=rwc"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
            "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(48),
            "BIND": f"{bench.HOST}:{bench.free_port()}", "RATE_LIMIT_BURST": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "SEED_PASSWORD": "seed-" + secrets.token_urlsafe(12),
            "RUST_LOG": "warn", "WEB_DIST": "/nonexistent-web-dist",
        }
        try:
            subprocess.run([str(args.server[0]), "seed", "--users", str(args.users)], env=env,
                           cwd=workdir, check=True, capture_output=True, timeout=3600)
            if database:
                bench.psql(args.pg_admin_url, "VACUUM (ANALYZE) users", database)
            for round_number in range(1, args.rounds + 1):
                for binary in args.server:
                    measured = flood(binary, env, workdir, args)
                    threads = measured["threads"]
                    hashing = sum(cpu for name, (cpu, _) in threads.items() if name.startswith("argon2"))
                    rest = sum(cpu for name, (cpu, _) in threads.items() if not name.startswith("argon2"))
                    print(f"round {round_number} {binary}: {measured['rate']:.1f} logins/s, "
                          f"hashing {hashing:.0f} µs/login, everything else {rest:.0f} µs/login, "
                          f"overhead {100 * rest / hashing:.1f} %")
                    for name, (cpu, switches) in sorted(threads.items()):
                        if cpu >= 1 or switches >= 0.1:
                            print(f"    {name:26s} {cpu:7.0f} µs/login  {switches:5.1f} switches/login")
                    sys.stdout.flush()
        finally:
            if database:
                bench.psql(args.pg_admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
