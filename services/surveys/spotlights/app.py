"""Wiring of the Spotlights part into a surveys service process."""

from __future__ import annotations

from typing import Any

from services.runtime.process import ServiceProcess
from services.runtime.rpc import Endpoint, RpcClient
from services.surveys.polls.repository import PollsRepository
from services.surveys.spotlights.endpoints import endpoints
from services.surveys.spotlights.repository import SpotlightsRepository
from services.surveys.spotlights.service import Lookups, SpotlightsService


class SpotlightsPart:
    def __init__(self, service: SpotlightsService, repository: SpotlightsRepository) -> None:
        self.service = service
        self.repository = repository

    def endpoints(self) -> list[Endpoint[Any]]:
        return endpoints(self.service)


async def setup(proc: ServiceProcess, polls: PollsRepository) -> SpotlightsPart:
    repo = SpotlightsRepository(proc.db)
    await repo.create_indexes()
    rpc = RpcClient(proc.conn.nc, proc.names, proc.settings.rpc_timeout)
    return SpotlightsPart(SpotlightsService(repo, polls, Lookups(rpc)), repo)
