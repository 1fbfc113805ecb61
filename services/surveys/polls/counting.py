"""Counting ballots: pure functions, no I/O, exact arithmetic.

Options are numbered 0..n-1 (the service maps its option ids to these numbers). Ballots come
in the shape of their method:

- ``single``: the chosen option per ballot;
- ``approval``: the approved options per ballot;
- ``dot`` and ``score``: one number per option per ballot (a vector of length n);
- ``borda`` and ``schulze``: a ranking per ballot, best first, possibly partial (options not
  listed are ranked below all listed ones and equal among themselves).

Every method yields a `Tally`: a score per option, a ranking in which equal options share a rank
(1, 1, 3, ...), the groups of tied options, and, for the number of seats to fill, the options
that certainly win and those tied for the remaining seats. Nothing is ever decided by chance or
by list position: a tie at the cut-off is reported as `undecided`. The rules are described in
docs/voting.md; the ranked methods are written for speed (100,000 rankings of 10 options in a
fraction of a second), with naive reference versions in the tests.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

SCORE_TOP = 5

Key = tuple[int | Fraction, ...]
Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class Tally:
    method: str
    ballots: int
    seats: int
    # per option, by option number
    scores: tuple[Fraction, ...]
    ranks: tuple[int, ...]
    # option numbers, best first; tied options keep their option order
    order: tuple[int, ...]
    ties: tuple[tuple[int, ...], ...]
    winners: tuple[int, ...]
    undecided: tuple[int, ...]
    top_scores: tuple[int, ...] | None = None
    pairwise: Matrix | None = None
    strongest_paths: Matrix | None = None


# --- ranking and seats -----------------------------------------------------------------------


def rank(
    method: str,
    ballots: int,
    keys: Sequence[Key],
    scores: Sequence[Fraction],
    seats: int,
    **extra: object,
) -> Tally:
    """Order options by their keys (higher is better); equal keys are a tie."""
    n = len(keys)
    order = sorted(range(n), key=lambda i: keys[i], reverse=True)  # stable: ties keep option order
    ranks = [0] * n
    groups: list[list[int]] = []
    for position, option in enumerate(order):
        if groups and keys[groups[-1][0]] == keys[option]:
            groups[-1].append(option)
            ranks[option] = ranks[groups[-1][0]]
        else:
            groups.append([option])
            ranks[option] = position + 1
    winners: list[int] = []
    undecided: list[int] = []
    start = 0
    for group in groups:
        if start + len(group) <= seats:
            winners.extend(group)
        elif start < seats:
            undecided.extend(group)
        start += len(group)
    return Tally(
        method=method,
        ballots=ballots,
        seats=seats,
        scores=tuple(scores),
        ranks=tuple(ranks),
        order=tuple(order),
        ties=tuple(tuple(g) for g in groups if len(g) > 1),
        winners=tuple(winners),
        undecided=tuple(undecided),
        **extra,  # type: ignore[arg-type]
    )


def _simple(method: str, ballots: int, totals: Sequence[int], seats: int) -> Tally:
    return rank(method, ballots, [(t,) for t in totals], [Fraction(t) for t in totals], seats)


# --- the methods -----------------------------------------------------------------------------


def single(n: int, choices: Sequence[int], seats: int = 1) -> Tally:
    """Plurality: one vote per ballot; most votes wins."""
    counts = Counter(choices)
    return _simple("single", len(choices), [counts.get(i, 0) for i in range(n)], seats)


def approval(n: int, ballots: Sequence[Sequence[int]], seats: int = 1) -> Tally:
    """Approval: each approved option gets one vote; most approvals wins."""
    counts = Counter(itertools.chain.from_iterable(ballots))
    return _simple("approval", len(ballots), [counts.get(i, 0) for i in range(n)], seats)


def column_sums(n: int, vectors: Sequence[Sequence[int]]) -> list[int]:
    if not vectors:
        return [0] * n
    return [sum(column) for column in zip(*vectors, strict=True)]


def dot(n: int, vectors: Sequence[Sequence[int]], seats: int = 1) -> Tally:
    """Dot voting (Punktabfrage): points per option are summed; most points wins."""
    return _simple("dot", len(vectors), column_sums(n, vectors), seats)


def score(n: int, vectors: Sequence[Sequence[int]], seats: int = 1) -> Tally:
    """Score voting 0-5: ranked by mean score; equal means by how many ballots gave the top
    score (5); still equal is a tie. Every ballot scores every option (unscored counts 0)."""
    ballots = len(vectors)
    columns = list(zip(*vectors, strict=True)) if vectors else [() for _ in range(n)]
    totals = [sum(c) for c in columns]
    tops = [c.count(SCORE_TOP) for c in columns]
    means = [Fraction(t, ballots) if ballots else Fraction(0) for t in totals]
    # the same number of ballots for every option: comparing totals is comparing means
    keys: list[Key] = [(t, top) for t, top in zip(totals, tops, strict=True)]
    return rank("score", ballots, keys, means, seats, top_scores=tuple(tops))


def _columns(n: int, rankings: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Transpose rankings into positions; short rankings are padded with n ("unranked")."""
    if not rankings:
        return []
    return list(itertools.zip_longest(*rankings, fillvalue=n))


def borda_points(n: int, rankings: Sequence[Sequence[int]]) -> list[int]:
    """Twice the Borda points of each option (twice, so that shared points stay integers).

    Rank i (0 = first) earns n-1-i points. The options a ballot leaves unranked share the
    points of the remaining places equally: with m ranked, each unranked option gets
    (n-m-1)/2 points, the mean of 0..n-m-1.
    """
    lengths = list(map(len, rankings))
    # start as if every option were unranked on every ballot ...
    base = sum(count * (n - m - 1) for m, count in Counter(lengths).items())
    doubled = [base] * n
    # ... then replace the shared points by the place's points wherever an option is ranked
    for place, column in enumerate(_columns(n, rankings)):
        for (option, m), count in Counter(zip(column, lengths, strict=True)).items():
            if option < n:
                doubled[option] += count * (2 * (n - 1 - place) - (n - m - 1))
    return doubled


def borda(n: int, rankings: Sequence[Sequence[int]], seats: int = 1) -> Tally:
    """Borda count over (partial) rankings; most points wins; equal points are a tie."""
    doubled = borda_points(n, rankings)
    return rank("borda", len(rankings), [(d,) for d in doubled], [Fraction(d, 2) for d in doubled], seats)


def pairwise(n: int, rankings: Sequence[Sequence[int]]) -> list[list[int]]:
    """d[x][y]: how many ballots rank x above y (a ranked option is above every unranked one).

    Counted per (option, set of options above it), which has at most n * 2^(n-1) distinct
    values, so the per-ballot work stays in C-level zip/Counter passes.
    """
    bits = [1 << i for i in range(n)] + [0]  # the padding value n adds nothing
    masks = [0] * len(rankings)
    above: Counter[tuple[int, int]] = Counter()
    for column in _columns(n, rankings):
        above.update(zip(column, masks, strict=True))
        masks = list(map(operator.or_, masks, map(bits.__getitem__, column)))
    d = [[0] * n for _ in range(n)]
    for (option, mask), count in above.items():
        if option == n:
            continue
        row = d[option]
        for other in range(n):
            # `option` is above every option not already above it (ranked below, or unranked)
            if other != option and not (mask >> other) & 1:
                row[other] += count
    return d


def strongest_paths(d: Sequence[Sequence[int]]) -> list[list[int]]:
    """Schulze's strongest paths, link strength measured by winning votes."""
    n = len(d)
    p = [[d[x][y] if x != y and d[x][y] > d[y][x] else 0 for y in range(n)] for x in range(n)]
    for i in range(n):
        for j in range(n):
            if j == i:
                continue
            pji = p[j][i]
            if pji == 0:
                continue
            row = p[j]
            pi = p[i]
            for k in range(n):
                if k != i and k != j:
                    via = pi[k] if pi[k] < pji else pji
                    if via > row[k]:
                        row[k] = via
    return p


def schulze(n: int, rankings: Sequence[Sequence[int]], seats: int = 1) -> Tally:
    """Schulze method: x beats y when the strongest path from x to y is stronger than the one
    back. Options are ranked by how many others beat them (fewer is better); options that do
    not beat each other and are beaten equally often are tied. The score is how many options
    an option beats."""
    d = pairwise(n, rankings)
    p = strongest_paths(d)
    beaten = [sum(1 for y in range(n) if p[y][x] > p[x][y]) for x in range(n)]
    wins = [sum(1 for y in range(n) if p[x][y] > p[y][x]) for x in range(n)]
    return rank(
        "schulze",
        len(rankings),
        [(-b,) for b in beaten],
        [Fraction(w) for w in wins],
        seats,
        pairwise=tuple(tuple(r) for r in d),
        strongest_paths=tuple(tuple(r) for r in p),
    )


def condorcet_winner(d: Sequence[Sequence[int]]) -> int | None:
    """The option that beats every other one head to head, if there is one."""
    n = len(d)
    for x in range(n):
        if all(d[x][y] > d[y][x] for y in range(n) if y != x):
            return x
    return None
