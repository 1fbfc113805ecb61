"""The bench's derived figures: the ceiling of each scenario, its estimated p99 and the memory
growth. A wrong formula here would print a wrong verdict beside the targets."""

from __future__ import annotations

from typing import Any

import pytest

from bench.platform import RoundResult
from bench.run import CONCURRENCY, ceilings, round_shares, rss_growth, tail_factor


def figures(cpu_ms: float, mean_ms: float = 10.0, p99_ms: float = 30.0) -> dict[str, Any]:
    return {
        "cpu_ms_per_request": {"median": cpu_ms},
        "mean_ms": {"median": mean_ms},
        "p99_ms": {"median": p99_ms},
    }


def run_results() -> dict[str, Any]:
    return {
        "baseline_forward": figures(0.2, mean_ms=10, p99_ms=40),  # p99 / mean 4.0
        "baseline_bare": figures(0.1, mean_ms=5, p99_ms=10),  # 2.0
        "db_insert": figures(0.5, mean_ms=20, p99_ms=300),
        "db_find": figures(0.4, mean_ms=20, p99_ms=60),
        "db_insert_grouped": figures(0.1, mean_ms=8, p99_ms=30),
        "db_find_grouped": figures(0.15, mean_ms=8, p99_ms=30),
        "js_publish": figures(0.05, mean_ms=2, p99_ms=5),  # 2.5
        "db_insert_response": figures(1.0, mean_ms=30, p99_ms=300),
        "db_find_response": figures(1.0, mean_ms=30, p99_ms=90),
        "db_update_response": figures(2.0, mean_ms=60, p99_ms=300),
        "db_insert_response_grouped": figures(0.3, mean_ms=10, p99_ms=40),
        "db_find_response_grouped": figures(0.5, mean_ms=10, p99_ms=40),
        "db_update_response_grouped": figures(0.8, mean_ms=20, p99_ms=60),
        "render_page": {"cpu_ms_per_request": {"median": 1.0}},
        "kommunen": 218,
    }


def test_the_tail_is_the_most_even_baseline() -> None:
    tail = tail_factor(run_results())
    assert tail["baseline"] == "baseline_bare"
    assert tail["value"] == pytest.approx(2.0)
    assert tail["ratios"]["baseline_forward"] == pytest.approx(4.0)


def test_a_ballot_ceiling_counts_call_insert_and_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    votes = ceilings(run_results())["votes"]
    # the token from the gateway's copy of the bucket (nothing) + hop + a share of a grouped
    # insert + event
    assert votes["cpu_ms"] == pytest.approx(0.2 + 0.1 + 0.05)
    assert votes["rate"] == pytest.approx(2000 / 0.35)
    assert votes["min_mean_request_ms"] == pytest.approx(1000 * CONCURRENCY / votes["rate"])
    assert votes["least_p99_ms"] == pytest.approx(2.0 * votes["min_mean_request_ms"])


def test_without_the_grouped_figures_a_ballot_counts_lone_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    results = run_results()
    del results["db_insert_grouped"], results["db_find_grouped"]
    assert ceilings(results)["votes"]["cpu_ms"] == pytest.approx(0.2 + 0.5 + 0.05)


def test_with_the_kv_figure_sessions_are_bucket_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    results = {**run_results(), "kv_get": figures(0.03, mean_ms=2, p99_ms=6)}
    out = ceilings(results)
    # tokens are in the gateway's copy of the bucket: no read for a ballot
    assert out["votes"]["cpu_ms"] == pytest.approx(0.2 + 0.1 + 0.05)
    # session bucket read + the survey call with the response read (grouped) + the badge call +
    # the HTML
    assert out["page"]["cpu_ms"] == pytest.approx(0.03 + (0.2 + 0.5) + 0.2 + 1.0)


def test_a_support_counts_its_call_and_insert_grouped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    support = ceilings(run_results())["support"]
    # hop + a share of a grouped insert + event (the need's and the caller's Kommune are held
    # by the service, the token by the gateway)
    assert support["cpu_ms"] == pytest.approx(0.2 + 0.1 + 0.05)
    assert support["burst_ms"] == pytest.approx(1000 * 218 / (2000 / 0.35))


def test_a_survey_submission_is_two_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    surveys = ceilings(run_results())["surveys"]
    # two calls; the draft's two lookups (response and draft, grouped finds), its grouped insert,
    # the submitted response's grouped insert (no read: the saving instance holds what it wrote)
    # and the event
    assert surveys["cpu_ms"] == pytest.approx(2 * 0.2 + 2 * 0.15 + 2 * 0.3 + 0.05)
    assert surveys["min_mean_request_ms"] == pytest.approx(surveys["min_mean_latency_ms"] / 2)
    assert surveys["least_p99_ms"] == pytest.approx(2.0 * surveys["min_mean_request_ms"])


def test_without_the_grouped_figures_a_survey_counts_lone_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    results = run_results()
    for name in ("db_find_grouped", "db_insert_response_grouped"):
        del results[name]
    assert ceilings(results)["surveys"]["cpu_ms"] == pytest.approx(2 * 0.2 + 2 * 0.4 + 2 * 1.0 + 0.05)


def test_memory_growth_leaves_out_the_servers_and_missing_readings() -> None:
    first = {"surveys": 54.0, "gateway": 75.0, "ferretdb": 150.0, "needs": None}
    last = {"surveys": 58.5, "gateway": 74.0, "ferretdb": 180.0, "needs": 98.0}
    assert rss_growth(first, last, ("ferretdb",)) == "gateway -1.0, surveys +4.5"


def test_a_rate_is_compared_with_the_baseline_of_its_own_round() -> None:
    # the machine was fast in the first round and slow in the second: the medians of the two
    # columns (1,500 and 5,000/s) would say 30 %, a share no round had
    rounds = [
        RoundResult(figures={"votes": {"per_s": 2000.0}, "baseline_forward": {"per_s": 8000.0}}),
        RoundResult(figures={"votes": {"per_s": 1000.0}, "baseline_forward": {"per_s": 4000.0}}),
        RoundResult(figures={"baseline_forward": {"per_s": 5000.0}}),  # the scenario failed to run
    ]
    assert round_shares(rounds, "votes", "baseline_forward") == [0.25, 0.25]
    assert round_shares(rounds, "surveys", "baseline_forward") == []
