"""Property-based tests of the counting module (hypothesis), against naive reference counts."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.surveys.polls import counting


@st.composite
def rankings(draw: st.DrawFn, min_options: int = 2, max_options: int = 6) -> tuple[int, list[list[int]]]:
    n = draw(st.integers(min_options, max_options))
    ballot = st.permutations(range(n)).flatmap(lambda perm: st.integers(1, n).map(lambda k: list(perm[:k])))
    return n, draw(st.lists(ballot, max_size=40))


@st.composite
def dot_ballots(draw: st.DrawFn) -> tuple[int, list[list[int]]]:
    n = draw(st.integers(2, 8))
    return n, draw(st.lists(st.lists(st.integers(0, 10), min_size=n, max_size=n), max_size=40))


def naive_pairwise(n: int, ballots: Sequence[Sequence[int]]) -> list[list[int]]:
    d = [[0] * n for _ in range(n)]
    for ballot in ballots:
        position = {option: i for i, option in enumerate(ballot)}
        for x in range(n):
            for y in range(n):
                if x != y and x in position and position[x] < position.get(y, n):
                    d[x][y] += 1
    return d


def naive_borda(n: int, ballots: Sequence[Sequence[int]]) -> list[Fraction]:
    points = [Fraction(0)] * n
    for ballot in ballots:
        rest = [o for o in range(n) if o not in ballot]
        for i, option in enumerate(ballot):
            points[option] += n - 1 - i
        remaining = sum(range(len(rest)))
        for option in rest:
            points[option] += Fraction(remaining, len(rest))
    return points


def outcome(tally: counting.Tally) -> tuple[object, ...]:
    return (tally.scores, tally.ranks, tally.ties, tally.winners, tally.undecided)


class TestRankedProperties:
    @given(rankings())
    def test_pairwise_matches_a_naive_count(self, case: tuple[int, list[list[int]]]) -> None:
        n, ballots = case
        assert counting.pairwise(n, ballots) == naive_pairwise(n, ballots)

    @given(rankings())
    def test_borda_matches_a_naive_count(self, case: tuple[int, list[list[int]]]) -> None:
        n, ballots = case
        assert list(counting.borda(n, ballots).scores) == naive_borda(n, ballots)

    @given(rankings(), st.randoms(use_true_random=False), st.integers(1, 3))
    def test_permuting_ballots_never_changes_the_result(
        self, case: tuple[int, list[list[int]]], rnd: object, seats: int
    ) -> None:
        n, ballots = case
        shuffled = list(ballots)
        rnd.shuffle(shuffled)  # type: ignore[attr-defined]
        for method in (counting.borda, counting.schulze):
            assert outcome(method(n, ballots, seats)) == outcome(method(n, shuffled, seats))

    @given(rankings(), st.data())
    def test_condorcet_winner_ranked_first_on_an_added_ballot_keeps_winning(
        self, case: tuple[int, list[list[int]]], data: st.DataObject
    ) -> None:
        n, ballots = case
        winner = counting.condorcet_winner(counting.pairwise(n, ballots))
        if winner is None:
            return
        assert counting.schulze(n, ballots).winners == (winner,), "Schulze elects the Condorcet winner"
        rest = data.draw(st.permutations([o for o in range(n) if o != winner]))
        cut = data.draw(st.integers(0, len(rest)))
        added = [*ballots, [winner, *rest[:cut]]]
        assert counting.schulze(n, added).winners == (winner,)

    @given(rankings())
    def test_schulze_ranking_is_consistent_with_strongest_paths(
        self, case: tuple[int, list[list[int]]]
    ) -> None:
        n, ballots = case
        tally = counting.schulze(n, ballots)
        p = tally.strongest_paths
        assert p is not None
        for x in range(n):
            for y in range(n):
                if x != y and p[x][y] > p[y][x]:
                    assert tally.ranks[x] < tally.ranks[y]


class TestOtherProperties:
    @given(dot_ballots())
    def test_dot_total_equals_the_sum_of_the_ballots(self, case: tuple[int, list[list[int]]]) -> None:
        n, ballots = case
        tally = counting.dot(n, ballots)
        assert sum(tally.scores) == sum(sum(b) for b in ballots)

    @given(dot_ballots(), st.randoms(use_true_random=False))
    def test_permuting_vectors_never_changes_dot_or_score(
        self, case: tuple[int, list[list[int]]], rnd: object
    ) -> None:
        n, ballots = case
        shuffled = list(ballots)
        rnd.shuffle(shuffled)  # type: ignore[attr-defined]
        assert outcome(counting.dot(n, ballots)) == outcome(counting.dot(n, shuffled))
        scores = [[v % 6 for v in b] for b in ballots]
        shuffled_scores = [[v % 6 for v in b] for b in shuffled]
        assert outcome(counting.score(n, scores)) == outcome(counting.score(n, shuffled_scores))

    @given(
        st.integers(2, 8).flatmap(
            lambda n: st.tuples(
                st.just(n), st.lists(st.lists(st.integers(0, n - 1), unique=True), max_size=40)
            )
        ),
        st.randoms(use_true_random=False),
    )
    def test_permuting_approval_and_single_ballots_never_changes_the_result(
        self, case: tuple[int, list[list[int]]], rnd: object
    ) -> None:
        n, ballots = case
        shuffled = list(ballots)
        rnd.shuffle(shuffled)  # type: ignore[attr-defined]
        assert outcome(counting.approval(n, ballots)) == outcome(counting.approval(n, shuffled))
        firsts = [b[0] for b in ballots if b]
        assert outcome(counting.single(n, firsts)) == outcome(counting.single(n, list(reversed(firsts))))

    @given(st.lists(st.integers(0, 9), min_size=1, max_size=8), st.integers(1, 8))
    @settings(max_examples=200)
    def test_winners_and_undecided_never_exceed_the_seats_wrongly(
        self, totals: list[int], seats: int
    ) -> None:
        tally = counting.dot(len(totals), [totals], seats)
        assert len(tally.winners) <= seats
        assert len(tally.winners) == min(seats, len(totals)) or tally.undecided
        if tally.undecided:
            assert len(tally.winners) + len(tally.undecided) > seats
            assert len({totals[o] for o in tally.undecided}) == 1
        assert all(totals[w] > totals[u] for w in tally.winners for u in tally.undecided)
