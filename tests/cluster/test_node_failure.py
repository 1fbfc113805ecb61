"""A NATS node killed while ballots and survey answers come in through the gateways: nothing
accepted is lost, every event is in the replicated stream once and reaches its consumer, the
platform carries on by itself, and the node catches up when it is back."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from services.runtime.natsconn import connect
from tests.cluster.conftest import Cluster
from tests.cluster.load import HANG_SECONDS, Load, check_events, prepare, probe
from tests.support.figures import Recorder

pytestmark = pytest.mark.cluster


async def stream_info_via(url: str, stream: str) -> dict[str, object]:
    """`$JS.API.STREAM.INFO` asked through a client connected to this one node only."""
    conn = await connect(url, "cluster-test-node")
    try:
        msg = await conn.nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=5)
        info: dict[str, object] = json.loads(msg.data)
        return info
    finally:
        await conn.close()


class TestNodeFailure:
    async def test_killed_node_loses_nothing_and_catches_up_after_restart(
        self, cluster: Cluster, figures: Recorder
    ) -> None:
        names = cluster.settings.names
        js = cluster.conn.nc.jetstream(timeout=10.0)
        info = await js.stream_info(names.event_stream)
        assert info.config.num_replicas == 3
        sessions = await js.stream_info(f"KV_{names.session_bucket}")
        assert sessions.config.num_replicas == 3
        assert info.cluster is not None
        # the node leading the event stream: losing it forces an election under load
        victim = cluster.nats.node(info.cluster.leader)

        targets = await prepare(cluster, polls=8, surveys=5)
        load = Load(cluster, targets)
        load.start()
        await load.until_accepted(8)
        killed_at = time.monotonic()
        victim.proc.kill()
        await load.wait()

        figures.record("cluster", "node kill: requests and their outcome", load.described())
        assert all(o.took < HANG_SECONDS for o in load.outcomes), "a request hung"
        assert {str(o.status) for o in load.outcomes} <= {"200", "503", "504"}, load.refusals()
        failed = [o for o in load.outcomes if not o.accepted]
        if failed:
            figures.record(
                "cluster",
                "node kill: seconds from the kill to the end of the last failed request",
                round(max(o.at + o.took for o in failed) - killed_at, 1),
            )
        # carries on by itself: new logins and votes are accepted through both gateways
        await probe(cluster, targets, [0, 1])

        stored = await check_events(cluster, load)
        assert stored >= len(load.accepted())
        figures.record("cluster", "node kill: writes stored, each with one event, delivered", stored)

        # the node comes back with its old store and catches up from the others
        last_seq = (await js.stream_info(names.event_stream)).state.last_seq
        cluster.nats.start_node(victim.name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            info = await js.stream_info(names.event_stream)
            replicas = {r.name: r for r in (info.cluster.replicas or [])} if info.cluster else {}
            replica = replicas.get(victim.name)
            if replica is not None and replica.current and not replica.lag:
                break
            assert loop.time() < deadline, f"{victim.name} did not catch up: {info.cluster}"
            await asyncio.sleep(0.5)
        # proof from the node itself: make it the leader and ask it, and only it
        while True:
            response = await cluster.conn.nc.request(
                f"$JS.API.STREAM.LEADER.STEPDOWN.{names.event_stream}",
                json.dumps({"placement": {"preferred": victim.name}}).encode(),
                timeout=10,
            )
            seen = await stream_info_via(victim.url, names.event_stream)
            cluster_info = seen.get("cluster")
            if isinstance(cluster_info, dict) and cluster_info.get("leader") == victim.name:
                break
            assert loop.time() < deadline, f"{victim.name} did not take the lead: {response.data!r}"
            await asyncio.sleep(1.0)
        state = seen["state"]
        assert isinstance(state, dict) and state["last_seq"] >= last_seq
