"""Counting against worked examples (Schulze's 45 voters, hand-worked Borda and approval cases)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from services.surveys.polls import counting

A, B, C, D, E = range(5)


def wikipedia_45() -> list[tuple[int, ...]]:
    """The 45-voter, 5-candidate example from the description of the Schulze method."""
    groups = [
        (5, (A, C, B, E, D)),
        (5, (A, D, E, C, B)),
        (8, (B, E, D, A, C)),
        (3, (C, A, B, E, D)),
        (7, (C, A, E, B, D)),
        (2, (C, B, A, D, E)),
        (7, (D, C, E, B, A)),
        (8, (E, B, A, D, C)),
    ]
    return [ranking for count, ranking in groups for _ in range(count)]


class TestSchulze45Voters:
    def test_pairwise_matrix(self) -> None:
        assert counting.pairwise(5, wikipedia_45()) == [
            [0, 20, 26, 30, 22],
            [25, 0, 16, 33, 18],
            [19, 29, 0, 17, 24],
            [15, 12, 28, 0, 14],
            [23, 27, 21, 31, 0],
        ]

    def test_strongest_paths(self) -> None:
        d = counting.pairwise(5, wikipedia_45())
        assert counting.strongest_paths(d) == [
            [0, 28, 28, 30, 24],
            [25, 0, 28, 33, 24],
            [25, 29, 0, 29, 24],
            [25, 28, 28, 0, 24],
            [25, 28, 28, 31, 0],
        ]

    def test_ranking_e_a_c_b_d(self) -> None:
        tally = counting.schulze(5, wikipedia_45(), seats=2)
        assert tally.order == (E, A, C, B, D)
        assert tally.ranks == (2, 4, 3, 5, 1)
        assert tally.winners == (E, A) and tally.undecided == () and tally.ties == ()
        assert tally.scores[E] == 4 and tally.scores[D] == 0
        assert tally.pairwise is not None and tally.strongest_paths is not None

    def test_no_condorcet_winner_in_this_example(self) -> None:
        assert counting.condorcet_winner(counting.pairwise(5, wikipedia_45())) is None

    def test_partial_rankings_rank_listed_options_above_the_rest(self) -> None:
        # one ballot ranks only C: C beats A and B there, A and B have no preference
        assert counting.pairwise(3, [(C,)]) == [[0, 0, 0], [0, 0, 0], [1, 1, 0]]

    def test_a_cycle_is_a_tie(self) -> None:
        tally = counting.schulze(3, [(A, B, C), (B, C, A), (C, A, B)])
        assert tally.ties == ((A, B, C),) and tally.winners == () and tally.undecided == (A, B, C)
        assert tally.ranks == (1, 1, 1)


class TestBorda:
    def test_full_rankings_by_hand(self) -> None:
        # 3 options: first 2 points, second 1, third 0
        # A>B>C twice: A 4, B 2; B>C>A once: B 2, C 1; C>A>B once: C 2, A 1
        tally = counting.borda(3, [(A, B, C), (A, B, C), (B, C, A), (C, A, B)])
        assert tally.scores == (Fraction(5), Fraction(4), Fraction(3))
        assert tally.order == (A, B, C) and tally.winners == (A,)

    def test_unranked_options_share_the_remaining_points(self) -> None:
        # 4 options, places earn 3, 2, 1, 0. A ballot ranking only B gives B 3 points and A, C,
        # D share 2 + 1 + 0 = 3 points: 1 each. A ballot ranking C > A gives C 3, A 2, and B
        # and D share 1 + 0: 0.5 each.
        tally = counting.borda(4, [(B,), (C, A)])
        assert tally.scores == (Fraction(3), Fraction(7, 2), Fraction(4), Fraction(3, 2))
        assert tally.order == (C, B, A, D)
        assert sum(tally.scores) == 2 * (3 + 2 + 1 + 0), "every ballot hands out all points"

    def test_equal_points_are_a_tie_not_a_pick(self) -> None:
        tally = counting.borda(3, [(A, B, C), (B, A, C)])
        assert tally.scores == (Fraction(3), Fraction(3), Fraction(0))
        assert tally.ties == ((A, B),) and tally.winners == () and tally.undecided == (A, B)
        assert counting.borda(3, [(A, B, C), (B, A, C)], seats=2).winners == (A, B)


class TestApproval:
    def test_by_hand(self) -> None:
        # A approved by 3, B by 2, C by 2, D by 0
        ballots = [(A, B), (A, C), (A,), (B, C)]
        tally = counting.approval(4, ballots, seats=1)
        assert tally.scores == (3, 2, 2, 0) and tally.winners == (A,)
        assert tally.ranks == (1, 2, 2, 4) and tally.ties == ((B, C),)

    def test_a_tie_at_the_cut_off_is_undecided(self) -> None:
        tally = counting.approval(4, [(A, B), (A, C), (A,), (B, C)], seats=2)
        assert tally.winners == (A,) and tally.undecided == (B, C)
        assert counting.approval(4, [(A, B), (A, C), (A,), (B, C)], seats=3).winners == (A, B, C)


class TestSingleDotScore:
    def test_single(self) -> None:
        tally = counting.single(3, [A, C, C, B, C])
        assert tally.scores == (1, 1, 3) and tally.order == (C, A, B) and tally.ranks == (2, 2, 1)

    def test_dot_sums_points(self) -> None:
        tally = counting.dot(3, [(3, 0, 0), (1, 1, 1), (0, 2, 1)])
        assert tally.scores == (4, 3, 2) and tally.winners == (A,)

    def test_score_by_mean_then_top_scores(self) -> None:
        # A: 5, 1 (mean 3, one 5); B: 3, 3 (mean 3, no 5); C: 0, 0
        tally = counting.score(3, [(5, 3, 0), (1, 3, 0)])
        assert tally.scores == (Fraction(3), Fraction(3), Fraction(0))
        assert tally.top_scores == (1, 0, 0)
        assert tally.order == (A, B, C) and tally.ties == () and tally.winners == (A,)

    def test_score_tie_when_means_and_top_scores_are_equal(self) -> None:
        tally = counting.score(2, [(5, 3), (3, 5)])
        assert tally.ties == ((A, B),) and tally.undecided == (A, B)

    @pytest.mark.parametrize("method", ["single", "approval", "dot", "score", "borda", "schulze"])
    def test_no_ballots_is_a_tie_of_all(self, method: str) -> None:
        tally = getattr(counting, method)(3, [])
        assert tally.ballots == 0 and tally.ties == ((A, B, C),) and tally.winners == ()

    def test_more_seats_than_options_elects_all(self) -> None:
        assert counting.dot(2, [(1, 0)], seats=5).winners == (A, B)
