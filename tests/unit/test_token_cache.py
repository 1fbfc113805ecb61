"""The gateway's short memory of bearer tokens (gateway/principals.py)."""

from __future__ import annotations

import time

import pytest

from gateway.principals import TokenCache, decode_forget, encode_forget
from services.contracts.envelope import Principal

ANNA = Principal(person_id="anna", organisation_id="15003", roles=("member",))
BERT = Principal(person_id="bert", organisation_id="15002", roles=("member",))


def test_remembers_a_token_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TokenCache(ttl=30.0)
    cache.put("gdst_a", ANNA)
    assert cache.get("gdst_a") == ANNA
    assert cache.get("gdst_other") is None
    later = time.monotonic() + 31
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert cache.get("gdst_a") is None, "an expired entry is asked for afresh"


def test_forgetting_a_person_drops_all_of_their_tokens_only() -> None:
    cache = TokenCache()
    cache.put("gdst_a1", ANNA)
    cache.put("gdst_a2", ANNA)
    cache.put("gdst_b", BERT)
    assert cache.forget_person("anna") == 2
    assert cache.get("gdst_a1") is None and cache.get("gdst_a2") is None
    assert cache.get("gdst_b") == BERT


def test_holds_no_usable_token_and_stays_bounded() -> None:
    cache = TokenCache(max_entries=3)
    for i in range(10):
        cache.put(f"gdst_secret{i}", ANNA)
    assert len(cache._entries) <= 3
    assert not any("gdst_secret" in key for key in cache._entries)
    assert cache.get("gdst_secret9") == ANNA, "the newest entry is kept"


def test_broadcast_round_trip_and_garbage() -> None:
    assert decode_forget(encode_forget("anna")) == "anna"
    assert decode_forget(b"{not json") is None
    assert decode_forget(b'{"person_id": 5}') is None
