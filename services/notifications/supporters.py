"""Which Kommunen hear of a new "betrifft uns auch". No I/O.

The reporting Kommune hears of every one. The other supporting Kommunen hear of each new one
while few are affected ("Am I the only one with this problem?"), and after that only when the
count reaches a round figure. Telling every supporter of every later supporter sent the
Kommunen of a popular need hundreds of entries each, and its work grew with the square of the
supporters (218 Kommunen: ~100,000 inbox and digest entries).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

# up to this many affected Kommunen (the reporting one included), every supporter is told of each new one
TELL_EACH_UP_TO = 10


def affected_count(reporter: str, supporters: Iterable[tuple[datetime, str]], acting: str) -> int | None:
    """How many Kommunen were affected once `acting` said so: the reporting Kommune, then the
    supporters in the order they marked the need. None when `acting` no longer supports it.
    The same event always gives the same count, so a redelivery decides as the first delivery did
    (a withdrawal in between moves the later ones up by one)."""
    order = [reporter] + [org for _, org in sorted(supporters) if org != reporter]
    try:
        return order.index(acting) + 1
    except ValueError:
        return None


def is_round(count: int) -> bool:
    """25, 50, 100, 250, 500, 1000, … (and 1, 2, 5, 10 below)."""
    scale = 1
    while scale * 10 <= count:
        scale *= 10
    return count in (scale, scale * 5 // 2, scale * 5)


def supporters_told(count: int | None) -> bool:
    """Whether the Kommunen that support the need (besides the reporting one) are told."""
    if count is None:
        return False
    return count <= TELL_EACH_UP_TO or is_round(count)
