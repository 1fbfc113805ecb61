"""SMTP transport: the only code that talks to the mail server."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib


class Mailer:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(message, hostname=self.host, port=self.port, timeout=self.timeout)

    async def send_raw(self, sender: str, recipients: list[str], raw: bytes) -> None:
        await aiosmtplib.send(
            raw,
            sender=_address(sender),
            recipients=recipients,
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
        )


def _address(value: str) -> str:
    return parseaddr(value)[1] or value
