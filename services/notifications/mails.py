"""Compose mails from events: German templates, plain text and HTML parts. No I/O."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
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
