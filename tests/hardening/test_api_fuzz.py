"""Schemathesis against the real gateway: every operation the OpenAPI schema lists, as a member
and as the ministry, with valid and invalid input → no 5xx, every answer as documented."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.runtime.settings import Settings
from tests.conftest import MINISTRY, Stack
from tests.hardening.support import MEMBER, seed

pytestmark = pytest.mark.hardening

# examples per operation and role: 2 roles × ~70 operations × 20 ≥ 2,000 requests in total
EXAMPLES = 20
NOT_HTTP = "Invalid HTTP request received."
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """More patience than the default five seconds: on a machine shared by many test runs a
    slow answer would be a 504 here, which says nothing about the input the fuzzer sent."""
    return settings.with_(rpc_timeout=30.0)


@dataclass
class Run:
    requests: int = 0
    server_errors: int = 0
    not_http: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    mismatches: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Identity:
    role: str
    cookies: dict[str, str]
    headers: dict[str, str]


def _strategy(operation: Any, known: dict[str, str]) -> Any:
    """Valid and invalid input; where the path names objects the seed made, half the cases use
    their real ids, so requests reach the services' rules instead of stopping at "unknown id"."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(mode) for mode in modes]
    names = [p.name for p in operation.path_parameters]
    # a stream of a real poll stays open for minutes; random ids answer 404 at once
    if names and all(n in known for n in names) and not operation.path.endswith("/stream"):
        real = {n: known[n] for n in names}
        strategies += [operation.as_strategy(mode, path_parameters=real) for mode in modes]
    return st.one_of(*strategies)


def _fuzz_operation(operation: Any, who: Identity, base_url: str, known: dict[str, str], run: Run) -> None:
    session = requests.Session()
    session.cookies.update(who.cookies)
    strategy = _strategy(operation, known)

    @given(case=strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def fuzz(case: Any) -> None:
        try:
            response = case.call(base_url=base_url, session=session, headers=who.headers, timeout=30)
        except (requests.exceptions.InvalidHeader, ValueError, UnicodeError):
            return  # the client cannot even send this (a header with a newline): no request made
        if response.status_code == 400 and response.text == NOT_HTTP:
            # the HTTP server refused the bytes before the application saw them (a header value
            # its parser does not accept): no API operation answered, so no schema applies
            with run.lock:
                run.not_http += 1
            return
        with run.lock:
            run.requests += 1
            run.statuses[response.status_code] += 1
            if response.status_code >= 500:
                run.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=who.headers)
        except (Failure, FailureGroup) as exc:
            failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
            with run.lock:
                for failure in failures:
                    key = f"{operation.label} → {response.status_code}: {failure.title}"
                    run.mismatches.setdefault(key, f"{who.role}: {str(failure)[:400]}")

    fuzz()


async def _identity(stack: Stack, role: str, email: str | None) -> Identity:
    if email is None:
        return Identity(role, {}, {})
    client = await stack.login(email)
    cookies = {k: v for k, v in client.cookies.items()}
    headers = {"X-CSRF-Token": client.headers["X-CSRF-Token"]}
    await client.aclose()
    return Identity(role, cookies, headers)


async def test_every_operation_answers_as_documented_without_server_errors(
    stack: Stack, figures: Any
) -> None:
    async with stack.client() as client:
        raw = (await client.get("/api/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    known = await seed(stack)
    member = await _identity(stack, "member", MEMBER)
    ministry = await _identity(stack, "ministry", MINISTRY)
    anonymous = await _identity(stack, "anonymous", None)
    run = Run()

    def work() -> None:
        for operation in operations:
            # logging in or out with the fuzzer's own session would end it: those run anonymously
            session_op = operation.path.startswith("/api/v1/session")
            for who in (anonymous,) if session_op else (member, ministry):
                _fuzz_operation(operation, who, stack.base_url, known, run)

    started = time.monotonic()
    await asyncio.to_thread(work)
    seconds = time.monotonic() - started

    figures.record("fuzzing", "generated requests", run.requests)
    figures.record("fuzzing", "operations covered", len(operations))
    figures.record(
        "fuzzing",
        "2xx responses (requests that got through)",
        sum(n for s, n in run.statuses.items() if s < 300),
    )
    figures.record("fuzzing", "5xx responses", run.server_errors)
    figures.record("fuzzing", "refused by the HTTP parser", run.not_http)
    figures.record("fuzzing", "schema mismatches", len(run.mismatches))
    figures.record("fuzzing", "seconds", round(seconds, 1))
    print(dict(run.statuses))
    for key, message in sorted(run.mismatches.items()):
        print(key, "::", message)
    assert run.requests >= 2000
    assert run.server_errors == 0
    assert run.not_http <= run.requests // 100, "the HTTP server refused more than a stray request"
    assert not run.mismatches, "\n".join(f"{k}: {v}" for k, v in sorted(run.mismatches.items()))
