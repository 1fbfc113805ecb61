"""Polls and AG topics (served by the surveys service): requests, views, events, subjects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.contracts.common import Cursor, Id, Limit
from services.contracts.names import Names

SERVICE = "surveys"

TopicStatus = Literal["proposed", "selected", "in_work", "done", "dropped"]
MethodKind = Literal["single", "approval", "dot", "score", "borda", "schulze"]
Voters = Literal["person", "organisation"]
Visibility = Literal["live", "after_close"]
PollState = Literal["open", "closed"]

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=5000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
OptionId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]

MAX_OPTIONS = 30
MAX_POINTS = 100
SCORE_MIN = 0
SCORE_MAX = 5


class Endpoints:
    TOPIC_CREATE = "topics.create"
    TOPICS_LIST = "topics.list"
    TOPIC_GET = "topics.get"
    TOPIC_STATUS = "topics.status"
    POLL_CREATE = "polls.create"
    POLLS_LIST = "polls.list"
    POLL_GET = "polls.get"
    BALLOT_PUT = "polls.ballot.put"
    BALLOT_GET = "polls.ballot.get"
    RESULTS = "polls.results"
    CLOSE = "polls.close"
    BALLOTS_EXPORT = "polls.ballots"


def results_subject(names: Names, poll_id: str) -> str:
    """Core NATS subject (not JetStream) on which the surveys service publishes a poll's
    current `PollResults` whenever its ballots change; the gateway streams them to browsers."""
    return f"{names.namespace}.live.polls.{poll_id}"


# --- topics -------------------------------------------------------------------------------


class CreateTopic(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    group_id: Id
    title: Title
    description: Description = ""


class ListTopics(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    group_id: Id
    status: TopicStatus | None = None
    limit: Limit = 100
    cursor: Cursor | None = None


class GetById(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class ChangeTopicStatus(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    status: TopicStatus
    reason: Reason = ""


class TopicEvent(msgspec.Struct, kw_only=True):
    """One step in a topic's life."""

    at: datetime
    status: TopicStatus
    by: str | None = None
    poll_id: str | None = None
    reason: str = ""


class Topic(msgspec.Struct, kw_only=True):
    id: str
    group_id: str
    title: str
    description: str
    status: TopicStatus
    proposed_by: str
    organisation_id: str
    created_at: datetime
    selected_by_poll: str | None = None
    polls: list[str] = msgspec.field(default_factory=list)
    history: list[TopicEvent] = msgspec.field(default_factory=list)


class TopicPage(msgspec.Struct, kw_only=True):
    items: list[Topic]
    next_cursor: str | None = None


# --- polls --------------------------------------------------------------------------------


class Method(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """How ballots look and are counted. Unset numbers get the documented defaults when the
    poll is opened (docs/voting.md)."""

    kind: MethodKind
    points: Annotated[int, msgspec.Meta(ge=1, le=MAX_POINTS)] | None = None
    max_per_option: Annotated[int, msgspec.Meta(ge=1, le=MAX_POINTS)] | None = None
    max_choices: Annotated[int, msgspec.Meta(ge=1, le=MAX_OPTIONS)] | None = None
    cumulative: bool | None = None  # dot voting: may a voter put several points on one option?


class OptionInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Either a free `label` or a `topic_id` of the AG's proposed topics."""

    label: Label | None = None
    topic_id: Id | None = None


class CreatePoll(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: Description = ""
    options: Annotated[list[OptionInput], msgspec.Meta(min_length=2, max_length=MAX_OPTIONS)]
    method: Method
    voters: Voters = "person"
    results_visibility: Visibility = "live"
    closes_at: datetime
    group_id: Id | None = None
    winners: Annotated[int, msgspec.Meta(ge=1, le=MAX_OPTIONS)] = 1


class Option(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    label: str
    topic_id: str | None = None


class Poll(msgspec.Struct, kw_only=True):
    id: str
    title: str
    description: str
    options: list[Option]
    method: Method
    voters: Voters
    results_visibility: Visibility
    closes_at: datetime
    group_id: str | None
    winners: int
    tie_rule: str
    state: PollState
    created_by: str
    created_at: datetime
    closed_at: datetime | None = None
    eligible: int | None = None
    # for the caller: may they vote, and have they (or their Kommune) voted already?
    can_vote: bool = False
    not_eligible_reason: str = ""
    has_voted: bool = False


class ListPolls(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    state: PollState | None = None
    group_id: Id | None = None
    limit: Limit = 100
    cursor: Cursor | None = None


class PollPage(msgspec.Struct, kw_only=True):
    items: list[Poll]
    next_cursor: str | None = None


class BallotInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Exactly one of the fields, as the poll's method needs."""

    choice: OptionId | None = None
    choices: Annotated[list[OptionId], msgspec.Meta(max_length=MAX_OPTIONS)] | None = None
    # the ranges of points (0 to the budget) and scores (0-5) are checked by the service, which
    # names the option in its error ("points.o2"); msgspec cannot name a dict key
    points: Annotated[dict[OptionId, int], msgspec.Meta(max_length=MAX_OPTIONS)] | None = None
    scores: Annotated[dict[OptionId, int], msgspec.Meta(max_length=MAX_OPTIONS)] | None = None
    ranking: Annotated[list[OptionId], msgspec.Meta(max_length=MAX_OPTIONS)] | None = None


class CastBallot(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    poll_id: Id
    ballot: BallotInput


class Ballot(msgspec.Struct, kw_only=True):
    """The caller's (or the caller's Kommune's) ballot as stored."""

    poll_id: str
    voter: str
    cast_by: str
    cast_at: datetime
    ballot: BallotInput


class Standing(msgspec.Struct, kw_only=True):
    option_id: str
    label: str
    score: float
    rank: int
    # score voting: how many ballots gave the top score (the tie-breaker)
    top_scores: int | None = None


class PollResults(msgspec.Struct, kw_only=True):
    poll_id: str
    method: MethodKind
    state: PollState
    hidden: bool
    ballots: int
    eligible: int | None
    ranking: list[Standing]
    winners: list[str]
    ties: list[list[str]]
    # the options tied for the last seat(s): nobody is picked silently
    undecided: list[str] = msgspec.field(default_factory=list)
    seats: int = 1
    tie_rule: str = ""
    # schulze only: rows and columns in the order of `matrix_options`
    matrix_options: list[str] | None = None
    pairwise: list[list[int]] | None = None
    strongest_paths: list[list[int]] | None = None
    final: bool = False
    updated_at: datetime | None = None


class ClosePoll(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class ExportedBallot(msgspec.Struct, kw_only=True, omit_defaults=True):
    pseudonym: str
    choice: str | None = None
    choices: list[str] | None = None
    points: list[int] | None = None
    scores: list[int] | None = None
    ranking: list[str] | None = None


class BallotExport(msgspec.Struct, kw_only=True):
    poll_id: str
    method: MethodKind
    options: list[Option]
    ballots: list[ExportedBallot]


# --- events -------------------------------------------------------------------------------


class TopicProposed(msgspec.Struct, kw_only=True, tag="topic.proposed.v1"):
    topic_id: str
    group_id: str
    title: str
    proposed_by: str
    organisation_id: str


class TopicStatusChanged(msgspec.Struct, kw_only=True, tag="topic.status_changed.v1"):
    topic_id: str
    group_id: str
    title: str
    old_status: str
    status: str
    changed_by: str | None
    reason: str = ""


class PollOpened(msgspec.Struct, kw_only=True, tag="poll.opened.v1"):
    poll_id: str
    title: str
    method: str
    voters: str
    group_id: str | None
    options: list[Option]
    winners: int
    results_visibility: str
    closes_at: datetime
    created_by: str


class BallotCast(msgspec.Struct, kw_only=True, tag="ballot.cast.v1"):
    """That someone voted, never how."""

    poll_id: str
    voter: str
    voters: str
    cast_by: str
    replaced: bool


class RankedOption(msgspec.Struct, kw_only=True):
    option_id: str
    label: str
    score: float
    rank: int


class PollClosed(msgspec.Struct, kw_only=True, tag="poll.closed.v1"):
    poll_id: str
    title: str
    group_id: str | None
    method: str
    ballots: int
    eligible: int | None
    ranking: list[RankedOption]
    winners: list[str]
    undecided: list[str]
    closed_by: str | None


class TopicSelected(msgspec.Struct, kw_only=True, tag="topic.selected.v1"):
    topic_id: str
    group_id: str
    title: str
    poll_id: str


EVENT_TOPIC_PROPOSED = "topic.proposed"
EVENT_TOPIC_STATUS_CHANGED = "topic.status_changed"
EVENT_POLL_OPENED = "poll.opened"
EVENT_BALLOT_CAST = "ballot.cast"
EVENT_POLL_CLOSED = "poll.closed"
EVENT_TOPIC_SELECTED = "topic.selected"
