"""Composition root of the needs service.

Its capabilities arrive with their own issue; until then the process already connects, owns its
database, makes sure the event stream exists and answers the health check, so the launcher,
readiness and deployment treat it like every other service.
"""

from __future__ import annotations

from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings


async def start(settings: Settings) -> ServiceProcess:
    proc = await ServiceProcess.start(settings, "needs")
    await proc.serve([])
    return proc
