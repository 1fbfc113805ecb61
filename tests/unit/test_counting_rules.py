"""Poll rules without I/O: method defaults, ballot validation, stored ballots into the count."""

from __future__ import annotations

import pytest

from services.contracts import polls as c
from services.runtime.errors import Invalid
from services.surveys.polls import rules

IDS = ["o1", "o2", "o3", "o4", "o5"]


def fields(exc: pytest.ExceptionInfo[Invalid]) -> list[str]:
    return [e.field for e in exc.value.errors]


class TestMethodDefaults:
    @pytest.mark.parametrize(("options", "points"), [(2, 2), (3, 2), (5, 3), (10, 6)])
    def test_dot_points_default_to_options_halved_plus_one(self, options: int, points: int) -> None:
        method = rules.complete_method(c.Method(kind="dot"), options)
        assert (method.points, method.cumulative, method.max_per_option) == (points, True, None)

    def test_no_cumulation_means_one_point_per_option(self) -> None:
        method = rules.complete_method(c.Method(kind="dot", cumulative=False), 5)
        assert method.max_per_option == 1
        with pytest.raises(Invalid) as exc:
            rules.complete_method(c.Method(kind="dot", cumulative=False, points=6), 5)
        assert fields(exc) == ["method.points"]

    def test_approval_defaults_to_all_options(self) -> None:
        assert rules.complete_method(c.Method(kind="approval"), 4).max_choices == 4
        with pytest.raises(Invalid) as exc:
            rules.complete_method(c.Method(kind="approval", max_choices=5), 4)
        assert fields(exc) == ["method.max_choices"]

    def test_numbers_of_other_methods_are_refused(self) -> None:
        with pytest.raises(Invalid) as exc:
            rules.complete_method(c.Method(kind="schulze", points=3, max_choices=2), 4)
        assert fields(exc) == ["method.points", "method.max_choices"]


class TestBallots:
    dot = c.Method(kind="dot", points=3, max_per_option=2, cumulative=True)

    def test_dot_ballot_is_stored_as_a_vector(self) -> None:
        content = rules.ballot_content(self.dot, IDS, c.BallotInput(points={"o2": 2, "o5": 1}))
        assert content == {"points": [0, 2, 0, 0, 1]}
        assert rules.ballot_input(content, IDS) == c.BallotInput(points={"o2": 2, "o5": 1})

    @pytest.mark.parametrize(
        ("points", "field"),
        [
            ({"o1": 2, "o2": 2}, "points"),
            ({"o1": 3}, "points.o1"),
            ({"o9": 1}, "points.o9"),
            ({"o1": -1, "o2": 1}, "points.o1"),
            ({}, "points"),
        ],
    )
    def test_dot_budget_caps_and_options(self, points: dict[str, int], field: str) -> None:
        with pytest.raises(Invalid) as exc:
            rules.ballot_content(self.dot, IDS, c.BallotInput(points=points))
        assert field in fields(exc)

    def test_ranking_rejects_duplicates_and_keeps_partial_rankings(self) -> None:
        method = c.Method(kind="borda")
        assert rules.ballot_content(method, IDS, c.BallotInput(ranking=["o3", "o1"])) == {
            "ranking": ["o3", "o1"]
        }
        with pytest.raises(Invalid) as exc:
            rules.ballot_content(method, IDS, c.BallotInput(ranking=["o3", "o1", "o3"]))
        assert fields(exc) == ["ranking[2]"]

    def test_wrong_shape_names_both_fields(self) -> None:
        with pytest.raises(Invalid) as exc:
            rules.ballot_content(c.Method(kind="single"), IDS, c.BallotInput(choices=["o1"]))
        assert fields(exc) == ["choices", "choice"]

    def test_scores_default_to_zero_and_stay_in_range(self) -> None:
        method = c.Method(kind="score")
        assert rules.ballot_content(method, IDS, c.BallotInput(scores={"o4": 5})) == {
            "scores": [0, 0, 0, 5, 0]
        }
        with pytest.raises(Invalid) as exc:
            rules.ballot_content(method, IDS, c.BallotInput(scores={"o4": 6}))
        assert fields(exc) == ["scores.o4"]


class TestCountFromDocuments:
    def test_stored_ballots_are_counted_by_option_id(self) -> None:
        docs = [{"ranking": ["o2", "o1"]}, {"ranking": ["o2"]}, {"ranking": ["o1", "o3"]}]
        tally = rules.count("schulze", ["o1", "o2", "o3"], docs, seats=1)
        assert tally.winners == (1,) and tally.ballots == 3
        assert rules.count("single", IDS, [{"choice": "o5"}], 1).winners == (4,)
