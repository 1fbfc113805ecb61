"""Compose mails from events: German templates, plain text and HTML parts. No I/O."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from services.contracts.directory import PersonInvited

BERLIN = ZoneInfo("Europe/Berlin")

_env = Environment(
    loader=PackageLoader("services.notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def message_id(event_id: str, recipient: str) -> str:
    # stable per event and recipient, so a receiving system can drop a duplicate itself
    digest = hashlib.sha256(f"{event_id}:{recipient}".encode()).hexdigest()[:24]
    return f"<{digest}@gdst.example>"


def invitation(event_id: str, data: PersonInvited, *, public_url: str, sender: str) -> EmailMessage:
    context = {
        "name": data.name,
        "organisation_name": data.organisation_name,
        "link": f"{public_url}/einladung/{data.token}",
        "expires": data.expires_at.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr"),
    }
    msg = EmailMessage()
    msg["Subject"] = "Einladung zur Plattform „Gemeinsam Digital für Sachsen-Anhalt“"
    msg["From"] = sender
    msg["To"] = data.email
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id(event_id, data.email)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = "de"
    msg.set_content(_env.get_template("invitation.txt").render(context))
    msg.add_alternative(_env.get_template("invitation.html").render(context), subtype="html")
    return msg


def notification(
    *, to: str, name: str, title: str, body: str, link: str, public_url: str, sender: str, message_key: str
) -> bytes:
    """A single notification: plain text and HTML, a link to the thing and to the preferences."""
    context = {
        "name": name,
        "title": title,
        "body": body,
        "link": f"{public_url}{link}",
        "preferences": f"{public_url}/einstellungen/benachrichtigungen",
    }
    return _message(to, title, "notification", context, sender=sender, message_key=message_key)


def digest(
    *,
    to: str,
    name: str,
    period_label: str,
    items: list[dict[str, str]],
    public_url: str,
    sender: str,
    message_key: str,
) -> bytes:
    context = {
        "name": name,
        "period": period_label,
        "preferences": f"{public_url}/einstellungen/benachrichtigungen",
        "items": [{**i, "link": f"{public_url}{i['link']}"} for i in items],
    }
    subject = (
        f"Ihre Zusammenfassung ({period_label}): {len(items)} Neuigkeit{'en' if len(items) != 1 else ''}"
    )
    return _message(to, subject, "digest", context, sender=sender, message_key=message_key)


def _message(
    to: str, subject: str, template: str, context: Mapping[str, Any], *, sender: str, message_key: str
) -> bytes:
    """The mail as the bytes handed to SMTP (plain text and HTML alternatives, UTF-8, base64).

    Written out directly rather than through `EmailMessage`: its header registry and content
    manager cost ~12-30 ms per mail, which made composing the 1,090 mails of one survey the
    largest share of the fan-out (docs/performance.md). The result parses to the same message."""
    boundary = "=_gdst_" + hashlib.sha256(f"{message_key}:{to}".encode()).hexdigest()[:32]
    headers = [
        ("Subject", _header(subject)),
        ("From", _address(sender)),
        ("To", _address(to)),
        ("Date", format_datetime(datetime.now(UTC))),
        ("Message-ID", message_id(message_key, to)),
        ("Auto-Submitted", "auto-generated"),
        ("Content-Language", "de"),
        # RFC 2369/8058: mail programs offer "unsubscribe"; it leads to the preferences page
        ("List-Unsubscribe", f"<{context['preferences']}>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    out = [f"{name}: {value}" for name, value in headers]
    out.append("")
    for subtype in ("plain", "html"):
        extension = "txt" if subtype == "plain" else "html"
        body = _env.get_template(f"{template}.{extension}").render(context)
        out += [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            base64.encodebytes(body.encode()).decode("ascii").rstrip("\n").replace("\n", "\r\n"),
        ]
    out += [f"--{boundary}--", ""]
    return "\r\n".join(out).encode("ascii")


def _header(value: str) -> str:
    # one line, and RFC 2047 encoded words only when needed
    value = " ".join(value.split())
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((" ".join(name.split()), address), charset="utf-8") if address else _header(value)
