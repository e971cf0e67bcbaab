#!/usr/bin/python3
"""Checks docker-compose.yml and the Dockerfile without a container engine.

- `docker-compose config -q` validates the compose file (Debian's `docker-compose` package);
- every setting the Dockerfile and the compose file give the server is one that the server
  binary we test reads (its `--help` lists each variable), so a renamed setting cannot be
  left behind in the deployment files;
- the image builds that binary (`cargo build --release --locked -p server`), runs it
  (`ENTRYPOINT ["server"]`), with the Rust version the workspace declares.

Usage: /usr/bin/python3 scripts/check-deploy.py SERVER_BINARY
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Read by the tracing subscriber, not by the command line parser.
NOT_IN_HELP = {"RUST_LOG"}


def fail(message: str) -> None:
    print(f"check-deploy: {message}", file=sys.stderr)
    sys.exit(1)


def server_settings(binary: str) -> set[str]:
    shown = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    # `[env: NAME=value]`, or `[env: NAME]` for a setting whose value is hidden.
    names = set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", shown))
    if "DATABASE_URL" not in names:
        fail(f"`{binary} --help` names no DATABASE_URL: not the server binary?")
    return names | NOT_IN_HELP


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continued lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    final_stage = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM"):]
    env = {}
    for keyword, arguments in final_stage:
        if keyword == "ENV":
            for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", arguments):
                env[name] = value
    return env


def compose_server_env() -> dict[str, str]:
    import yaml  # python3-yaml, which Debian's docker-compose brings to /usr/bin/python3

    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document["services"]["server"].get("environment", {})


def main() -> None:
    if len(sys.argv) != 2:
        fail(__doc__.strip().splitlines()[-1])
    known = server_settings(sys.argv[1])

    compose = shutil.which("docker-compose")
    if compose is None:
        fail("docker-compose is not installed (apt-get install docker-compose)")
    # The compose file requires SECRET_KEY from the environment; any value validates.
    checked = subprocess.run(
        [compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={"SECRET_KEY": "x" * 48, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )
    if checked.returncode != 0:
        fail(f"docker-compose config: {checked.stderr.strip()}")

    instructions = dockerfile_instructions()
    problems = []
    for origin, settings in (("Dockerfile ENV", dockerfile_env(instructions)),
                             ("docker-compose.yml server.environment", compose_server_env())):
        for name in settings:
            if name not in known:
                problems.append(f"{origin}: {name} is not a setting of the server")
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    if not any("cargo build --release --locked -p server" in run for run in runs):
        problems.append("Dockerfile: no `cargo build --release --locked -p server`")
    entrypoint = [json.loads(arguments) for keyword, arguments in instructions if keyword == "ENTRYPOINT"]
    if entrypoint != [["server"]]:
        problems.append(f"Dockerfile: ENTRYPOINT is {entrypoint}, not [\"server\"]")
    declared = re.search(r'^rust-version = "([0-9.]+)"', (ROOT / "Cargo.toml").read_text(), re.M)
    images = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    if declared is None or not any(image.startswith(f"rust:{declared.group(1)}-") for image in images):
        problems.append("Dockerfile: the Rust image is not the workspace's rust-version")
    if problems:
        fail("\n  ".join(["the deployment files disagree with the server:", *problems]))
    print("docker-compose.yml and Dockerfile: valid, and every setting is one the server reads")


if __name__ == "__main__":
    main()
