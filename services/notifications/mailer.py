"""SMTP transport: the only code that talks to the mail server."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib

from services.runtime.metrics import MAILS


class Mailer:
    def __init__(
        self, host: str, port: int, timeout: float = 10.0, *, username: str = "", password: str = ""
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        # a relay that wants a login gets one after connecting (aiosmtplib logs in when both are set)
        self.username = username or None
        self.password = password or None

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                timeout=self.timeout,
                username=self.username,
                password=self.password,
            )
        except Exception:
            MAILS.labels("failed").inc()
            raise
        MAILS.labels("sent").inc()

    async def send_raw(self, sender: str, recipients: list[str], raw: bytes) -> None:
        try:
            await aiosmtplib.send(
                raw,
                sender=_address(sender),
                recipients=recipients,
                hostname=self.host,
                port=self.port,
                timeout=self.timeout,
                username=self.username,
                password=self.password,
            )
        except Exception:
            MAILS.labels("failed").inc()
            raise
        MAILS.labels("sent").inc()

    async def send_batch(self, sender: str, mails: list[tuple[str, bytes]]) -> list[Exception | None]:
        """Send several mails over one connection; one result per mail (None = accepted)."""
        if not mails:
            return []
        results: list[Exception | None] = []
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            username=self.username,
            password=self.password,
        )
        try:
            await client.connect()
        except Exception:
            MAILS.labels("failed").inc(len(mails))
            raise
        try:
            for to, raw in mails:
                try:
                    await client.sendmail(_address(sender), [to], raw)
                    results.append(None)
                except aiosmtplib.SMTPException as exc:
                    results.append(exc)
        finally:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
        sent = sum(1 for r in results if r is None)
        MAILS.labels("sent").inc(sent)
        MAILS.labels("failed").inc(len(results) - sent)
        return results


def _address(value: str) -> str:
    return parseaddr(value)[1] or value
