"""SIGTERM to one instance of the surveys service and to one gateway while ballots and survey
answers keep coming in: both stop taking requests, finish what they hold and exit with 0 in
bounded time; every write answered 2xx is stored and its event delivered; the other instances
carry on."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.cluster.conftest import Cluster
from tests.cluster.load import HANG_SECONDS, Load, check_events, prepare
from tests.support.figures import Recorder

pytestmark = pytest.mark.cluster

# SHUTDOWN_TIMEOUT of the processes is 10 s; the rest is slack for a busy test machine
EXIT_WITHIN = 25.0


class TestGracefulShutdown:
    async def test_sigterm_under_load_loses_nothing_and_exits_cleanly(
        self, cluster: Cluster, figures: Recorder
    ) -> None:
        targets = await prepare(cluster, polls=8, surveys=5)
        load = Load(cluster, targets)
        load.start()
        await load.until_accepted(8)
        service = cluster.platform.procs["surveys-1"]
        gateway = cluster.platform.procs["gateway-1"]
        terminated_at = time.monotonic()
        service.signal(signal.SIGTERM)
        gateway.signal(signal.SIGTERM)
        codes = await asyncio.gather(service.wait(EXIT_WITHIN), gateway.wait(EXIT_WITHIN))
        figures.record(
            "cluster",
            "SIGTERM under load: seconds until both exited",
            round(time.monotonic() - terminated_at, 1),
        )
        assert codes == [0, 0], f"exit codes {codes}\n{service.tail()}\n{gateway.tail()}"
        await load.wait()

        summary = load.summary()
        figures.record("cluster", "SIGTERM under load: requests per outcome", dict(summary))
        assert all(o.took < HANG_SECONDS for o in load.outcomes), "a request hung"
        # refused connections at the stopped gateway are fine (a load balancer sends them
        # elsewhere); a request the gateway accepted is answered
        assert {str(o.status) for o in load.outcomes} <= {"200", "503", "ConnectError"}, summary
        assert load.accepted(since=terminated_at + 1.0), f"nothing accepted after SIGTERM: {summary}"
        await check_events(cluster, load)
