#!/usr/bin/env python3
"""A real SMTP server for tests: keeps every accepted message as an .eml file.

Usage: python3 scripts/smtp-sink.py --port P --dir D

Listens on 127.0.0.1:P and writes each accepted message, as received, to D/<pid>-<n>.eml, and
its decoded summary to D/<pid>-<n>.json (each written under a temporary name, then renamed, so a
reader never sees half a file). Recipients whose
local part starts with "defer" get 451 (try again later), those starting with "reject" get 550
(refused for good). Prints "ready" on stdout once listening; exits with status 0 on SIGTERM or
SIGINT. Needs Debian's python3-aiosmtpd and nothing else outside the standard library.
"""

import argparse
import asyncio
import email
import email.policy
import itertools
import json
import os
import signal
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    # Debian's package installs for Debian's interpreter only; a python3 earlier on PATH (pyenv,
    # a virtualenv) does not see it, so hand over to Debian's before giving up.
    DEBIAN_PYTHON = "/usr/bin/python3"
    if os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(
        DEBIAN_PYTHON
    ):
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, *sys.argv])
    sys.exit(
        "smtp-sink: the aiosmtpd module is missing; install it with "
        "`apt-get install -y python3-aiosmtpd`"
    )


class Sink:
    """The aiosmtpd handler: decides on each recipient, and stores each message."""

    def __init__(self, directory):
        self.directory = directory
        self.numbers = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local_part = address.rsplit("@", 1)[0].lower()
        if local_part.startswith("defer"):
            return "451 4.3.0 Deferred by the test sink, try again later"
        if local_part.startswith("reject"):
            return "550 5.1.1 Rejected by the test sink"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = f"{os.getpid()}-{next(self.numbers):06d}.eml"
        temporary = os.path.join(self.directory, f".{name}.tmp")
        with open(temporary, "wb") as file:
            file.write(envelope.original_content)
        os.replace(temporary, os.path.join(self.directory, name))
        write_summary(self.directory, name, envelope)
        return "250 2.0.0 Message accepted"


def write_summary(directory, name, envelope):
    """Beside D/x.eml, D/x.json: its recipients, From, Subject and decoded text and HTML
    parts, so that a test in any language reads a message without a MIME parser."""
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    parts = {}
    for subtype in ("plain", "html"):
        body = message.get_body(preferencelist=(subtype,))
        parts[subtype] = body.get_content() if body is not None else None
    summary = {
        "to": list(envelope.rcpt_tos),
        "from": str(message["From"]),
        "subject": str(message["Subject"]),
        "text": parts["plain"],
        "html": parts["html"],
    }
    stem = name.rsplit(".", 1)[0]
    temporary = os.path.join(directory, f".{stem}.json.tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(summary, file)
    os.replace(temporary, os.path.join(directory, f"{stem}.json"))


async def serve(port, directory):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    handler = Sink(directory)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink", enable_SMTPUTF8=True),
        host="127.0.0.1",
        port=port,
    )
    print("ready", flush=True)
    await stop.wait()
    server.close()
    # A client still connected must not hold the exit up.
    try:
        await asyncio.wait_for(server.wait_closed(), timeout=2)
    except asyncio.TimeoutError:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument("--dir", required=True, help="directory for the .eml files")
    arguments = parser.parse_args()
    os.makedirs(arguments.dir, exist_ok=True)
    asyncio.run(serve(arguments.port, arguments.dir))


if __name__ == "__main__":
    main()
