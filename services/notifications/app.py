"""Composition root of the notifications service."""

from __future__ import annotations

from services.notifications.consumers import InvitationMails
from services.notifications.mailer import Mailer
from services.notifications.repository import NotificationsRepository
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings


async def start(settings: Settings) -> ServiceProcess:
    proc = await ServiceProcess.start(settings, "notifications")
    repo = NotificationsRepository(proc.db)
    mailer = Mailer(settings.smtp_host, settings.smtp_port)
    invitations = InvitationMails(repo, mailer, public_url=settings.public_url, sender=settings.mail_from)
    await proc.consume("notifications-invitations", invitations.event_types, invitations)
    # a micro service with no endpoints still answers $SRV.PING, so readiness can see it
    await proc.serve([])
    proc.parts.update(repository=repo, invitations=invitations)
    return proc
