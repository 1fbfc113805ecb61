"""Development mail server: accepts every message over SMTP and stores it as an .eml file.

`python -m deploy.mailbox --host 127.0.0.1 --port 2525 --dir var/mail`

Nothing is delivered anywhere: a person trying the platform locally opens the stored file (for
example an invitation) in a mail program or a text editor. Each message is logged as one line
"Mail an <to>: <subject> -> <path>".
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP


class MailStore:
    """Writes messages to `<dir>/<timestamp>-<n>.eml`, never overwriting an existing file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def save(self, content: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        while True:
            self.count += 1
            path = self.directory / f"{stamp}-{self.count}.eml"
            try:
                with path.open("xb") as handle:
                    handle.write(content)
            except FileExistsError:  # a file from an earlier run in the same second
                continue
            return path


def describe(content: bytes, recipients: list[str]) -> tuple[str, str]:
    """Recipients and decoded subject of a message, for the log line."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    subject = str(message.get("Subject", "")).strip() or "(ohne Betreff)"
    to = ", ".join(recipients) or str(message.get("To", "")).strip() or "(unbekannt)"
    return to, subject


class StoringHandler:
    """aiosmtpd handler that stores each message and reports where."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        content = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        path = self.store.save(content)
        to, subject = describe(content, [str(r) for r in envelope.rcpt_tos])
        print(f"Mail an {to}: {subject} -> {path}", flush=True)
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, directory: Path) -> None:
    """Serve until SIGINT or SIGTERM."""
    handler = StoringHandler(MailStore(directory))
    loop = asyncio.get_running_loop()
    # a fixed host name: aiosmtpd's default asks the resolver for the FQDN, which can hang offline
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="gdst-mailbox.localhost", enable_SMTPUTF8=True), host, port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Mailbox: SMTP auf {host}:{port}, Mails werden gespeichert in {directory}", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.mailbox", description="Entwicklungs-Mailserver: speichert jede Mail als .eml"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"), help="folder for the .eml files")
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.host, args.port, directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
