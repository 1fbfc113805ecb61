"""A mail relay that wants a login (SMTP_USERNAME/SMTP_PASSWORD): mail goes through with the
configured credentials, is refused without them, and the mail counters say which happened."""

from __future__ import annotations

import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.notifications.mailer import Mailer
from services.runtime.metrics import MAILS
from services.runtime.settings import Settings
from tests.support.servers import free_port

USER, PASSWORD = "gdst-relay", "relay-geheim"


class _Inbox:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.content)
        return "250 OK"


def _check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok)


@pytest.fixture
def relay() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_check,
        auth_required=True,
        # a relay inside the cluster network; TLS is the relay's business, not this test's
        auth_require_tls=False,
    )
    controller.start()
    yield port, inbox
    controller.stop()


def _mail(to: str) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "noreply@gdst.example"
    message["To"] = to
    message["Subject"] = "Test über das Relay"
    message.set_content("Hallo")
    return message


def _count(outcome: str) -> float:
    return MAILS.labels(outcome)._value.get()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
class TestRelayLogin:
    async def test_credentials_from_the_environment_let_mail_through(self, relay: tuple[int, _Inbox]) -> None:
        port, inbox = relay
        settings = Settings.from_env(
            {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(port),
                "SMTP_USERNAME": USER,
                "SMTP_PASSWORD": PASSWORD,
            }
        )
        mailer = Mailer(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
        sent_before = _count("sent")
        await mailer.send(_mail("a@halle.example"))
        results = await mailer.send_batch(
            "noreply@gdst.example",
            [("b@halle.example", b"Subject: x\r\n\r\nb"), ("c@halle.example", b"Subject: y\r\n\r\nc")],
        )
        assert results == [None, None]
        assert len(inbox.received) == 3
        assert _count("sent") == sent_before + 3

    async def test_without_credentials_the_relay_refuses_and_it_is_counted(
        self, relay: tuple[int, _Inbox]
    ) -> None:
        port, inbox = relay
        failed_before = _count("failed")
        with pytest.raises(aiosmtplib.SMTPException):
            await Mailer("127.0.0.1", port).send(_mail("a@halle.example"))
        assert inbox.received == []
        assert _count("failed") == failed_before + 1
