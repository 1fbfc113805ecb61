"""Spotlight rules (who may make which step, in which order the refusals come, what "voted for"
means) and the dashboard's pure figures (inhabitants never counted twice, response rates)."""

from __future__ import annotations

import pytest

from gateway.dashboard import assemble
from services.contracts import directory as d
from services.contracts.envelope import Principal
from services.contracts.meetings import MeetingStats
from services.contracts.polls import BallotInput
from services.directory.stats import directory_figures
from services.runtime.errors import Conflict, Forbidden, Invalid
from services.surveys.spotlights import rules
from services.surveys.stats import response_figures

LOTSE = Principal(person_id="l", organisation_id="15", roles=("lotse",))
LAND = Principal(person_id="m", organisation_id="15", roles=("ministry",))
MI = Principal(person_id="r", organisation_id="ressort-mi", roles=("ministry",))
MEMBER = Principal(person_id="k", organisation_id="15003", roles=("member",))


class TestTransitions:
    def test_the_ag_submits_and_the_ministry_decides(self) -> None:
        assert rules.next_statuses(LOTSE, "land", "entwurf", ["ressort-mid"]) == ["eingereicht"]
        assert rules.next_statuses(LOTSE, "land", "eingereicht", ["ressort-mid"]) == []
        assert rules.next_statuses(LAND, "land", "in_pruefung", ["ressort-mid"]) == ["umgesetzt", "abgelehnt"]
        assert rules.next_statuses(MI, "ressort", "eingereicht", ["ressort-mid"]) == []
        assert rules.next_statuses(MI, "ressort", "eingereicht", ["ressort-mi"]) == ["in_pruefung"]
        assert rules.next_statuses(MEMBER, "gemeinde", "entwurf", ["ressort-mi"]) == []

    def test_person_before_state_before_missing_text(self) -> None:
        with pytest.raises(Forbidden):
            rules.check_change(MEMBER, "stadt", "entwurf", "umgesetzt", ["x"], comment="", answer="")
        with pytest.raises(Conflict) as wrong_state:
            rules.check_change(LAND, "land", "entwurf", "umgesetzt", ["x"], comment="", answer="")
        assert wrong_state.value.errors[0].message == "Möglich ist: Eingereicht."
        with pytest.raises(Invalid) as missing:
            rules.check_change(LAND, "land", "in_pruefung", "abgelehnt", ["x"], comment=" ", answer="")
        assert [e.field for e in missing.value.errors] == ["comment", "answer"]
        rules.check_change(LAND, "land", "in_pruefung", "abgelehnt", ["x"], comment="c", answer="a")

    @pytest.mark.parametrize(
        ("ballot", "expected"),
        [
            (BallotInput(choice="a"), True),
            (BallotInput(choice="b"), False),
            (BallotInput(choices=["b", "a"]), True),
            (BallotInput(points={"a": 1, "b": 3}), True),
            (BallotInput(points={"b": 3}), False),
            (BallotInput(scores={"a": 3}), True),
            (BallotInput(scores={"a": 2}), False),
            (BallotInput(ranking=["a", "b"]), True),
            (BallotInput(ranking=["b", "a"]), False),
        ],
    )
    def test_voted_for(self, ballot: BallotInput, expected: bool) -> None:
        assert rules.voted_for(ballot, "a") is expected


def org(id_: str, kind: d.OrganisationKind, parent: str | None, population: int = 0) -> d.Organisation:
    return d.Organisation(
        id=id_,
        name=id_,
        kind=kind,
        ags=id_ if kind != "ressort" else "",
        parent_id=parent,
        population=population,
    )


class TestDirectoryFigures:
    def test_inhabitants_of_a_kreis_and_its_towns_count_once(self) -> None:
        orgs = [
            org("15", "land", None),
            org("ressort-mi", "ressort", "15"),
            org("15085", "landkreis", "15", 200),
            org("15085135", "stadt", "15085", 40),
            org("15085200", "gemeinde", "15085", 10),
            org("15003", "kreisfreie_stadt", "15", 240),
        ]
        # Harz only through its towns; Magdeburg not at all; the Land's staff are no members
        figures = directory_figures(orgs, ["15085135", "15085135", "15085200", "15", "ressort-mi"], groups=4)
        assert (figures.total.kommunen, figures.total.participating, figures.total.members) == (4, 2, 3)
        assert (figures.total.inhabitants, figures.total.participating_inhabitants) == (440, 50)
        assert figures.ressorts == 1 and figures.land_staff == 2
        assert figures.by_kreis["15003"].participating == 0
        with_kreis = directory_figures(orgs, ["15085", "15085135"], groups=4)
        assert with_kreis.by_kreis["15085"].participating_inhabitants == 200, "the towns lie inside Harz"


def test_response_rates_overall_and_per_kreis() -> None:
    addressed = [
        {"id": "15085135", "organisation": {"kreis": "15085"}},
        {"id": "15003", "organisation": {"kreis": "15003"}},
    ]
    total, by_kreis = response_figures([(addressed, {"15085135"}), (addressed[:1], set())])
    assert (total.surveys, total.addressed, total.submitted, total.rate) == (2, 3, 1, 0.3333)
    assert (by_kreis["15085"].surveys, by_kreis["15085"].rate) == (2, 0.5)
    assert by_kreis["15003"].rate == 0.0


def test_dashboard_takes_the_meetings_figures_through_their_contract() -> None:
    meetings = MeetingStats(held=5, held_by_group={"ag-technik": 2, "ag-strategie": 1}, upcoming=4)
    board = assemble(None, None, None, meetings, None)
    assert (board.meetings_held, board.ag_meetings_held) == (5, 3)
    assert board.unavailable == ["directory", "needs", "surveys"]
    assert assemble(None, None, None, None, None).meetings_held is None
