"""NATS KV buckets read on hot paths (sessions, the token bucket) are opened with direct gets."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue


async def open_direct(js: JetStreamContext, config: KeyValueConfig) -> KeyValue:
    """The bucket, made with `config` if it does not exist, with direct gets on.

    A direct get is answered from the stream's messages as they are; without it a read goes
    through the JetStream API and comes back as JSON with the value in base64, which took about
    half of a read's CPU (docs/performance.md #50). A bucket made without them is switched over.
    With replicas, any replica may answer a direct get, one a few milliseconds behind included:
    a key written a moment ago may be reported missing (see `through_leader`).
    """
    try:
        info = await js.stream_info(f"KV_{config.bucket}")
    except NotFoundError:
        await js.create_key_value(config.evolve(direct=True))
    else:
        if not info.config.allow_direct:
            info.config.allow_direct = True
            await js.update_stream(info.config)
    return await js.key_value(config.bucket)


def through_leader(js: JetStreamContext, bucket: str) -> KeyValue:
    """The same bucket read through the stream's leader (the JetStream API), which has every
    acknowledged write: for a "missing" from a direct get that must not be believed at once (a
    session made a moment ago on another gateway)."""
    return KeyValue(name=bucket, stream=f"KV_{bucket}", pre=f"$KV.{bucket}.", js=js, direct=False)
