"""Surveys (Umfragen, served by the surveys service): definitions, responses, progress, results,
exports and events. Polls and AG topics live in `contracts/polls.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from services.contracts.common import Cursor, Id, Limit
from services.contracts.directory import OrganisationKind

SERVICE = "surveys"

QuestionKind = Literal["single", "multiple", "text", "number", "scale", "date", "matrix"]
AudienceKind = Literal["all_kommunen", "landkreis", "group", "organisations"]
RespondAs = Literal["organisation", "person"]
# derived from the stored status and the clock: published and before `opens_at` is "scheduled"
SurveyState = Literal["draft", "scheduled", "open", "closed"]
ResponseState = Literal["none", "draft", "submitted"]
ExportFormat = Literal["csv", "xlsx"]

MAX_QUESTIONS = 200
MAX_OPTIONS = 50
MAX_ROWS = 50
MAX_TEXT_LENGTH = 10_000
SCALES = ((1, 5), (0, 10))

QuestionId = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Title = Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=10_000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Help = Annotated[str, msgspec.Meta(max_length=1000)]
SectionTitle = Annotated[str, msgspec.Meta(max_length=200)]
OptionLabel = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
EndLabel = Annotated[str, msgspec.Meta(max_length=100)]
Bound = int | float
ConditionValue = Annotated[str, msgspec.Meta(max_length=200)] | int | float
# Answer values are checked per question by the service (services/surveys/questionnaires/rules.py);
# on the wire they are plain JSON. The number of answers is bounded here.
Answers = Annotated[dict[QuestionId, Any], msgspec.Meta(max_length=MAX_QUESTIONS)]


class Endpoints:
    CREATE = "surveys.create"
    UPDATE = "surveys.update"
    DELETE = "surveys.delete"
    LIST = "surveys.list"
    GET = "surveys.get"
    # the survey page in one call: the survey and, if it is addressed to the caller, their response
    GET_FOR_PAGE = "surveys.get_for_page"
    PUBLISH = "surveys.publish"
    CLOSE = "surveys.close"
    RESPONSE_GET = "surveys.response.get"
    RESPONSE_SAVE = "surveys.response.save"
    RESPONSE_SUBMIT = "surveys.response.submit"
    RESPONSE_REOPEN = "surveys.response.reopen"
    PROGRESS = "surveys.progress"
    REMIND = "surveys.reminders"
    RESULTS = "surveys.results"
    EXPORT = "surveys.export"


# --- definition ---------------------------------------------------------------------------


class Condition(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Show the question only if the earlier question `question` was answered with `equals`
    (for a multiple-choice question: if `equals` is among the choices)."""

    question: QuestionId
    equals: ConditionValue


class Question(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One question. Which fields apply depends on `kind` (docs/surveys.md):

    - `single`, `multiple`: `options` (2–50); `multiple` also `min`/`max` choices;
    - `text`: `multiline` (long answer), `min`/`max` length in characters;
    - `number`: `min`/`max` value;
    - `scale`: `min`/`max` either 1–5 (default) or 0–10, `min_label`/`max_label` at the ends;
    - `date`: an ISO date (YYYY-MM-DD);
    - `matrix`: `rows` (1–50) each answered on the one scale `options` (2–50).
    """

    id: QuestionId
    kind: QuestionKind
    label: Label
    required: bool = False
    help: Help = ""
    section: SectionTitle = ""
    options: Annotated[list[OptionLabel], msgspec.Meta(max_length=MAX_OPTIONS)] = msgspec.field(
        default_factory=list
    )
    rows: Annotated[list[OptionLabel], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(
        default_factory=list
    )
    min: Bound | None = None
    max: Bound | None = None
    multiline: bool = False
    min_label: EndLabel = ""
    max_label: EndLabel = ""
    show_if: Condition | None = None


class Audience(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Who is asked. `all_kommunen`: every Kommune (Landkreise, kreisfreie Städte,
    Verbandsgemeinden, Städte, Gemeinden); `landkreis`: the Kommunen of the Landkreise in `ids`;
    `group`: the members of the AGs in `ids` (their Kommunen, or the members themselves when
    answering as a person); `organisations`: the Kommunen in `ids`. `organisation_kinds`
    narrows any of these to some kinds (e.g. only Landkreise and kreisfreie Städte)."""

    kind: AudienceKind
    ids: Annotated[list[Id], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)
    organisation_kinds: Annotated[list[OrganisationKind], msgspec.Meta(max_length=6)] = msgspec.field(
        default_factory=list
    )


class SurveyDefinition(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: Description = ""
    questions: Annotated[list[Question], msgspec.Meta(max_length=MAX_QUESTIONS)] = msgspec.field(
        default_factory=list
    )
    audience: Audience
    respond_as: RespondAs = "organisation"
    opens_at: datetime | None = None
    closes_at: datetime
    # results and exports of a person-level survey without names
    anonymous: bool = False


class CreateSurvey(SurveyDefinition, kw_only=True, forbid_unknown_fields=True):
    pass


class UpdateSurvey(SurveyDefinition, kw_only=True, forbid_unknown_fields=True):
    """Replaces a draft's whole definition; `revision` is the one the editor started from, so a
    colleague's change in between is a 409, not silently overwritten."""

    id: Id
    revision: Annotated[int, msgspec.Meta(ge=0)]


class GetSurvey(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class ListSurveys(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    state: SurveyState | None = None
    limit: Limit = 50
    cursor: Cursor | None = None


class OrgRef(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: str = ""
    ags: str = ""


class PersonRef(msgspec.Struct, kw_only=True):
    id: str
    name: str


class Survey(msgspec.Struct, kw_only=True):
    id: str
    title: str
    description: str
    questions: list[Question]
    audience: Audience
    respond_as: RespondAs
    anonymous: bool
    opens_at: datetime | None
    closes_at: datetime
    state: SurveyState
    revision: int
    created_by: str
    created_at: datetime
    published_at: datetime | None = None
    closed_at: datetime | None = None
    addressed_count: int = 0
    # for the caller: are they (or their Kommune) asked, and how far is their response?
    addressed_to_me: bool = False
    my_response: ResponseState = "none"


class SurveyPage(msgspec.Struct, kw_only=True):
    items: list[Survey]
    next_cursor: str | None = None


# --- responses ----------------------------------------------------------------------------


class GetResponse(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    survey_id: Id


class SaveResponse(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Saves a draft: the whole answers map replaces the stored one (last save wins)."""

    survey_id: Id
    answers: Answers


class SubmitResponse(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Submits the stored draft, or `answers` if given (saved and submitted in one write)."""

    survey_id: Id
    answers: Answers | None = None


class Response(msgspec.Struct, kw_only=True):
    survey_id: str
    id: str | None
    state: ResponseState
    organisation: OrgRef | None
    person: PersonRef | None = None
    answers: dict[str, Any] = msgspec.field(default_factory=dict)
    # questions a condition hides for these answers (ignored on submit)
    hidden: list[str] = msgspec.field(default_factory=list)
    updated_by: PersonRef | None = None
    updated_at: datetime | None = None
    submitted_by: PersonRef | None = None
    submitted_at: datetime | None = None
    can_edit: bool = False


class SurveyForPage(msgspec.Struct, kw_only=True):
    """The survey and, when it is addressed to the caller, their (or their Kommune's) response:
    what the survey page shows, read in one call."""

    survey: Survey
    response: Response | None = None


# --- progress and reminders ---------------------------------------------------------------


class ProgressEntry(msgspec.Struct, kw_only=True):
    organisation: OrgRef
    person: PersonRef | None = None
    state: ResponseState
    updated_at: datetime | None = None
    submitted_at: datetime | None = None


class KreisProgress(msgspec.Struct, kw_only=True):
    """One Landkreis (or kreisfreie Stadt); `kreis` is None for addressees outside any Kreis."""

    kreis: OrgRef | None
    addressed: int
    submitted: int
    drafts: int
    nothing: int
    entries: list[ProgressEntry]


class Progress(msgspec.Struct, kw_only=True):
    """`missing` are all who have not submitted (with a draft or with nothing)."""

    survey_id: str
    respond_as: RespondAs
    addressed: int
    submitted: int
    drafts: int
    nothing: int
    missing: list[ProgressEntry]
    groups: list[KreisProgress]
    reminders: list[datetime] = msgspec.field(default_factory=list)


class RequestReminder(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    survey_id: Id


class ReminderResult(msgspec.Struct, kw_only=True):
    survey_id: str
    reminded: int
    organisation_ids: list[str]
    person_ids: list[str] = msgspec.field(default_factory=list)


# --- results and exports ------------------------------------------------------------------


class GetResults(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    survey_id: Id
    landkreis: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$")] | None = None
    kind: OrganisationKind | None = None


class OptionCount(msgspec.Struct, kw_only=True):
    label: str
    count: int
    percent: float


class NumericSummary(msgspec.Struct, kw_only=True):
    n: int
    mean: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None


class MatrixRow(msgspec.Struct, kw_only=True):
    label: str
    n: int
    counts: list[OptionCount]


class TextAnswer(msgspec.Struct, kw_only=True):
    text: str
    by: str | None = None  # the Kommune (or person); None when results are anonymous


class QuestionResult(msgspec.Struct, kw_only=True):
    id: str
    kind: QuestionKind
    label: str
    section: str = ""
    # responses that were shown the question, and those that answered it
    asked: int
    n: int
    options: list[OptionCount] = msgspec.field(default_factory=list)
    summary: NumericSummary | None = None
    columns: list[str] = msgspec.field(default_factory=list)
    matrix: list[MatrixRow] = msgspec.field(default_factory=list)
    texts: list[TextAnswer] = msgspec.field(default_factory=list)
    earliest: str | None = None
    latest: str | None = None


class Results(msgspec.Struct, kw_only=True):
    survey_id: str
    title: str
    state: SurveyState
    addressed: int
    responses: int
    landkreis: str | None = None
    kind: str | None = None
    anonymous: bool = False
    questions: list[QuestionResult] = msgspec.field(default_factory=list)


class ExportResults(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    survey_id: Id
    format: ExportFormat
    landkreis: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$")] | None = None
    kind: OrganisationKind | None = None


class ExportFile(msgspec.Struct, kw_only=True):
    filename: str
    media_type: str
    content: bytes


# --- events -------------------------------------------------------------------------------

EVENT_PUBLISHED = "survey.published"
EVENT_SUBMITTED = "response.submitted"
EVENT_REOPENED = "response.reopened"
EVENT_REMINDER = "survey.reminder_requested"
EVENT_CLOSING_SOON = "survey.closing_soon"
EVENT_CLOSED = "survey.closed"


class SurveyPublished(msgspec.Struct, kw_only=True, tag="survey.published.v1"):
    """`organisation_ids`: every addressed Kommune; `person_ids`: the addressed people when the
    survey is answered per person (empty otherwise)."""

    survey_id: str
    title: str
    respond_as: str
    organisation_ids: list[str]
    person_ids: list[str]
    opens_at: datetime | None
    closes_at: datetime
    published_by: str


class ResponseSubmitted(msgspec.Struct, kw_only=True, tag="response.submitted.v1"):
    survey_id: str
    response_id: str
    organisation_id: str
    person_id: str | None
    submitted_by: str


class ResponseReopened(msgspec.Struct, kw_only=True, tag="response.reopened.v1"):
    survey_id: str
    response_id: str
    organisation_id: str
    person_id: str | None
    by: str


class ReminderRequested(msgspec.Struct, kw_only=True, tag="survey.reminder_requested.v1"):
    """Those who have not submitted: `organisation_ids` (with `drafts`, the ones among them that
    have started), and for a per-person survey the `person_ids`."""

    survey_id: str
    title: str
    closes_at: datetime
    respond_as: str
    organisation_ids: list[str]
    person_ids: list[str]
    drafts: list[str]
    requested_by: str


class ClosingSoon(msgspec.Struct, kw_only=True, tag="survey.closing_soon.v1"):
    """Stated once per survey, `lead_seconds` before `closes_at`; the missing as in
    `ReminderRequested`."""

    survey_id: str
    title: str
    closes_at: datetime
    respond_as: str
    organisation_ids: list[str]
    person_ids: list[str]
    drafts: list[str]
    lead_seconds: int


class SurveyClosed(msgspec.Struct, kw_only=True, tag="survey.closed.v1"):
    """`reason`: "deadline" (closes_at reached) or "manual" (closed by `closed_by`)."""

    survey_id: str
    title: str
    closed_at: datetime
    reason: str
    closed_by: str | None
    addressed: int
    submitted: int
