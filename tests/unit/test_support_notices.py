"""Who hears of a new "betrifft uns auch": everyone while few are affected, then round figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.messages import compose
from services.notifications.supporters import affected_count, is_round, supporters_told

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_the_count_follows_the_order_of_marking_with_the_reporter_first() -> None:
    # listed out of order, the reporter's own entry among them
    marks = [
        (T0 + timedelta(minutes=3), "c"),
        (T0, "r"),
        (T0 + timedelta(minutes=1), "a"),
        (T0 + timedelta(minutes=2), "b"),
    ]
    assert [affected_count("r", marks, org) for org in ("r", "a", "b", "c")] == [1, 2, 3, 4]
    assert affected_count("r", marks, "gone") is None, (
        "a withdrawn support is told to nobody but the reporter"
    )


def test_every_supporter_is_told_up_to_ten_then_at_round_figures() -> None:
    told = [n for n in range(1, 1001) if supporters_told(n)]
    assert told == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 25, 50, 100, 250, 500, 1000]
    assert not supporters_told(None)
    assert is_round(2500) and is_round(5000) and not is_round(2000) and not is_round(218)


def test_218_supporters_write_a_number_of_entries_that_grows_with_them_not_with_their_square() -> None:
    # Kommunen told per new supporter: the reporter always, the earlier supporters when told
    told = sum(1 + ((n - 2) if supporters_told(n) else 0) for n in range(2, 219))
    everyone = sum(n - 1 for n in range(2, 219))
    assert told == 217 + sum(n - 2 for n in (3, 4, 5, 6, 7, 8, 9, 10, 25, 50, 100))
    assert told * 20 < everyone


def test_past_ten_the_message_names_the_count() -> None:
    data = {"need_id": "n1"}
    few = compose("need.supported", data, {"title": "Glasfaser", "org": "Halle (Saale)"})
    many = compose("need.supported", data, {"title": "Glasfaser", "org": "Halle (Saale)", "count": 25})
    assert few.title == "„Glasfaser“: Halle (Saale) ist auch betroffen"
    assert many.title == "„Glasfaser“ betrifft jetzt 25 Kommunen"
    assert "Halle (Saale)" in many.body and many.link == few.link == "/bedarfe/n1"
