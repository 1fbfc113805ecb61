"""Composition root of the notifications service."""

from __future__ import annotations

from datetime import time

from services.notifications.consumers import InvitationMails
from services.notifications.digests import Digests
from services.notifications.endpoints import endpoints
from services.notifications.fanout import FanOut
from services.notifications.mailer import Mailer
from services.notifications.mailqueue import MailSender
from services.notifications.recipients import Resolver
from services.notifications.repository import InboxRepository, NotificationsRepository
from services.notifications.retention import Retention
from services.notifications.service import InboxService
from services.notifications.webhooks import (
    WebhookFanOut,
    WebhookFilter,
    WebhookRepository,
    WebhookSender,
    WebhookService,
    types_taken,
)
from services.runtime import privacy
from services.runtime.process import ServiceProcess
from services.runtime.rpc import RpcClient
from services.runtime.settings import Settings

# everything addressed to the person goes with them: nothing is mailed afterwards; webhooks
# they set up keep serving the ministry, attributed to the pseudonym
PRIVACY_POLICY = privacy.Policy(
    service="notifications",
    delete=frozenset(
        {
            "inbox",
            "preferences",
            "mails",
            "mails_sent",
            "mail_claims",
            "digest_items",
            "digests",
            "deliveries",
        }
    ),
    omit={"webhooks": ("secret",), "mails": ("raw",)},
)


async def start(settings: Settings) -> ServiceProcess:
    proc = await ServiceProcess.start(settings, "notifications")
    repo = NotificationsRepository(proc.db)
    inbox_repo = InboxRepository(proc.db)
    await inbox_repo.create_indexes()
    mailer = Mailer(
        settings.smtp_host,
        settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )
    invitations = InvitationMails(repo, mailer, public_url=settings.public_url, sender=settings.mail_from)
    await proc.consume("notifications-invitations", invitations.event_types, invitations)

    sender = MailSender(inbox_repo, mailer, sender=settings.mail_from)
    sender.start()
    proc.on_stop(sender.stop)
    digests = Digests(
        inbox_repo,
        public_url=settings.public_url,
        sender=settings.mail_from,
        at=time.fromisoformat(settings.digest_time),
        on_mail=sender.wake,
    )
    digests.start()
    proc.on_stop(digests.stop)
    resolver = Resolver(RpcClient(proc.conn.nc, proc.names, settings.rpc_timeout))
    fanout = FanOut(
        inbox_repo, resolver, public_url=settings.public_url, sender=settings.mail_from, on_mail=sender.wake
    )
    # two durable consumers over the same handler: types whose mail goes out at once by default
    # never queue behind digest material (a survey's publication waited behind 218 "betrifft
    # uns auch"); each handles several events at a time, since one waits for its recipients
    await proc.consume("notifications-fanout", fanout.immediate_types, fanout, parallel=8)
    # digest material may wait half a second: a burst of 218 "betrifft uns auch" is answered
    # before its notices are written (docs/performance.md, #69)
    await proc.consume("notifications-digest", fanout.digest_types, fanout, parallel=8, settle=0.5)

    hooks = WebhookRepository(proc.db)
    await hooks.create_indexes()
    await hooks.requeue_pending()
    # a separate consumer and sender: a slow receiver never holds up mail or the inbox
    hook_sender = WebhookSender(hooks, inbox_repo, locks=await proc.locks())
    hook_sender.start()
    proc.on_stop(hook_sender.stop)
    hook_fanout = WebhookFanOut(hooks, on_delivery=hook_sender.wake)
    hook_consumer = await proc.consume(
        "notifications-webhooks",
        sorted(types_taken(await hooks.active_now())),
        hook_fanout,
        wants=hook_fanout.wants,
    )
    hook_filter = WebhookFilter(hooks, hook_consumer)
    hook_filter.start()
    proc.on_stop(hook_filter.stop)

    retention = Retention(
        proc.db,
        inbox_days=settings.retention_inbox_days,
        delivery_log_days=settings.retention_delivery_log_days,
        interval=settings.retention_interval_seconds,
        inbox_changed=inbox_repo.unread.changed,
    )
    retention.start()
    proc.on_stop(retention.stop)
    _, export = await privacy.join(proc, PRIVACY_POLICY)
    await proc.serve(
        [
            *endpoints(
                InboxService(inbox_repo, proc.db["processed_events"]),
                WebhookService(hooks, hook_filter.widen_now),
            ),
            export,
        ]
    )
    proc.parts.update(
        repository=repo,
        inbox=inbox_repo,
        invitations=invitations,
        fanout=fanout,
        sender=sender,
        digests=digests,
        resolver=resolver,
        webhooks=hooks,
        webhook_sender=hook_sender,
        webhook_filter=hook_filter,
        retention=retention,
    )
    return proc
