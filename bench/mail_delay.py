#!/usr/bin/env python3
"""How long a password-reset mail takes to reach a real SMTP server, on SQLite and PostgreSQL.

Starts scripts/smtp-sink.py and the server (EMAIL_BACKEND=smtp), seeds users, then asks for one
reset link at a time, each for another user, and times each from the 202 answer to the moment
the sink has the message (the mtime of the summary it writes). The answer comes before the
request's transaction commits, so this bounds the delay from commit to delivery from above.

    python3 bench/mail_delay.py --server target/release/server [--backend sqlite|postgres]
        [--messages 200]

Python standard library only; reuses bench.py's helpers. Every wait is bounded.
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the helpers of the load benchmark beside this file)

REPO = Path(__file__).resolve().parent.parent


def start_sink(port: int, directory: Path) -> subprocess.Popen:
    sink = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "smtp-sink.py"), "--port", str(port), "--dir", str(directory)],
        stdout=subprocess.PIPE, text=True)
    if sink.stdout is None or sink.stdout.readline().strip() != "ready":
        raise RuntimeError("the SMTP sink did not start (is python3-aiosmtpd installed?)")
    return sink


def arrivals(directory: Path) -> list[Path]:
    return sorted(path for path in directory.glob("*.json"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, type=Path)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432",
                        help="a role that may create databases, without a database name")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mail-delay-"))
    mail_dir = work / "mail"
    sink_port = bench.free_port()
    sink = start_sink(sink_port, mail_dir)
    database = None
    password = "seed-" + secrets.token_urlsafe(12)
    servers = []
    try:
        if args.backend == "postgres":
            database = f"mail_delay_{os.getpid()}"
            bench.psql(args.pg_admin_url, f"CREATE DATABASE {database}")
            database_url = f"{args.pg_admin_url.rstrip('/')}/{database}"
        else:
            database_url = f"sqlite://{work / 'mail.db'}?mode=rwc"
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "RATE_LIMIT_BURST": "0",
            "SEED_PASSWORD": password,
            "WEB_DIST": "/nonexistent",
            "RUST_LOG": "warn",
            "EMAIL_BACKEND": "smtp",
            "SMTP_URL": f"smtp://127.0.0.1:{sink_port}",
            "PUBLIC_URL": "http://localhost:8000",
        }
        seeded = subprocess.run([str(args.server), "seed", "--users", str(args.messages * 2)],
                                env={**base, "BIND": "127.0.0.1:0"}, cwd=work, capture_output=True, text=True)
        if seeded.returncode != 0:
            raise RuntimeError(f"seed failed: {seeded.stderr[-2000:]}")
        port = bench.free_port()
        server = bench.Server(args.server, {**base, "BIND": f"{bench.HOST}:{port}"}, work,
                              work / "server.log")
        server.start()
        servers.append(server)
        asked = server
        numbers = [n for n in range(1, args.messages * 2) if n % 25 != 0][: args.messages]
        delays = []
        for n in numbers:
            before = len(arrivals(mail_dir))
            status, _ = bench.http_json(asked.port, "POST", "/api/auth/password-reset/",
                                        {"email": bench.seeded_user(n)})
            answered = time.time()
            if status != 202:
                raise RuntimeError(f"password-reset answered {status}")
            deadline = time.monotonic() + 15
            while len(arrivals(mail_dir)) == before:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the mail for user{n} did not arrive")
                time.sleep(0.0005)
            arrived = arrivals(mail_dir)[-1].stat().st_mtime
            delays.append((arrived - answered) * 1000)
        delays.sort()
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(f"{args.backend}, {len(delays)} messages, one at a time: 202 answer to delivery "
              f"median {statistics.median(delays):.1f} ms, p99 {p99:.1f} ms, max {delays[-1]:.1f} ms")
        return 0
    finally:
        for server in servers:
            server.stop()
        sink.terminate()
        sink.wait(timeout=10)
        if database:
            bench.psql(args.pg_admin_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
