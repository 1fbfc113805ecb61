"""Surveys: build and publish (ministry), answer as a draft and submit (Kommunen), follow the
progress, remind those missing, read and export the results."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import Parameter

from gateway.auth import api_principal, gateway_of
from gateway.clients.surveys import SurveysClient
from services.contracts import surveys as c
from services.contracts.directory import OrganisationKind
from services.contracts.envelope import Principal

IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
KreisParam = Annotated[str | None, Parameter(pattern=r"^[0-9]{5}$", description="AGS des Landkreises")]


class SurveyUpdate(c.SurveyDefinition, kw_only=True, forbid_unknown_fields=True):
    """The whole definition of a draft, and the `revision` it was read at."""

    revision: Annotated[int, msgspec.Meta(ge=0)]


class AnswersBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    answers: c.Answers


class SubmitBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    answers: c.Answers | None = None


def _surveys(request: Request[Any, Any, Any]) -> SurveysClient:
    return SurveysClient(gateway_of(request).rpc)


def _file(export: c.ExportFile) -> Response[bytes]:
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


class SurveyController(Controller):
    path = "/api/v1/surveys"
    tags = ["Umfragen"]
    dependencies = {"principal": Provide(api_principal)}

    @post("/", status_code=201, summary="Umfrage als Entwurf anlegen (Ministerium)")
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.CreateSurvey
    ) -> c.Survey:
        return await _surveys(request).create(principal, data)

    @get(
        "/",
        summary="Umfragen: an mich bzw. meine Kommune gerichtete, fürs Ministerium alle",
        description="`state`: draft, scheduled (veröffentlicht, beginnt später), open, closed.",
    )
    async def list_surveys(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        state_: Annotated[c.SurveyState | None, Parameter(query="state")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    ) -> c.SurveyPage:
        return await _surveys(request).list_surveys(
            principal, c.ListSurveys(state=state_, limit=limit, cursor=cursor)
        )

    @get("/{survey_id:str}", summary="Eine Umfrage mit ihren Fragen")
    async def get_survey(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> c.Survey:
        return await _surveys(request).get(principal, survey_id)

    @put(
        "/{survey_id:str}",
        summary="Entwurf ändern (Ministerium); nach dem Veröffentlichen 409",
        description="Ersetzt die ganze Definition. `revision` ist die gelesene; hat jemand den "
        "Entwurf inzwischen geändert, antwortet der Dienst mit 409.",
    )
    async def update(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam, data: SurveyUpdate
    ) -> c.Survey:
        fields = msgspec.structs.asdict(data)
        req = c.UpdateSurvey(id=survey_id, **fields)
        return await _surveys(request).update(principal, req)

    @delete("/{survey_id:str}", status_code=204, summary="Entwurf löschen (Ministerium)")
    async def delete_survey(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> None:
        await _surveys(request).delete(principal, survey_id)

    @post(
        "/{survey_id:str}/publish",
        status_code=200,
        summary="Veröffentlichen: Zielgruppe festschreiben, Fragen einfrieren (Ministerium)",
    )
    async def publish(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> c.Survey:
        return await _surveys(request).publish(principal, survey_id)

    @post("/{survey_id:str}/close", status_code=200, summary="Umfrage vorzeitig schließen (Ministerium)")
    async def close(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> c.Survey:
        return await _surveys(request).close(principal, survey_id)

    @get("/{survey_id:str}/response", summary="Antwort meiner Kommune (bzw. meine eigene)")
    async def response(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> c.Response:
        return await _surveys(request).response(principal, survey_id)

    @put(
        "/{survey_id:str}/response",
        status_code=200,
        summary="Entwurf speichern (ersetzt alle Antworten; zuletzt Gespeichertes gilt)",
        description="Prüft Art, Optionen und Bereiche jeder Antwort, Pflichtfragen noch nicht.",
    )
    async def save(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam, data: AnswersBody
    ) -> c.Response:
        return await _surveys(request).save(
            principal, c.SaveResponse(survey_id=survey_id, answers=data.answers)
        )

    @post(
        "/{survey_id:str}/response/submit",
        status_code=200,
        summary="Antwort einreichen; 422 nennt jedes Problem je Frage",
        description="Ohne Inhalt wird der gespeicherte Entwurf eingereicht, mit `answers` diese "
        "Antworten (in einem Schritt gespeichert und eingereicht). Ausgeblendete Fragen werden "
        "ignoriert. Nach dem Schließen 409.",
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        survey_id: IdParam,
        data: SubmitBody | None = None,
    ) -> c.Response:
        req = c.SubmitResponse(survey_id=survey_id, answers=data.answers if data else None)
        return await _surveys(request).submit(principal, req)

    @post(
        "/{survey_id:str}/response/reopen",
        status_code=200,
        summary="Eingereichte Antwort wieder öffnen (bis die Umfrage schließt)",
    )
    async def reopen(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> c.Response:
        return await _surveys(request).reopen(principal, survey_id)

    @get(
        "/{survey_id:str}/progress",
        summary="Fortschritt nach Landkreis: angesprochen, eingereicht, Entwurf, nichts (Ministerium)",
    )
    async def progress(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> c.Progress:
        return await _surveys(request).progress(principal, survey_id)

    @post(
        "/{survey_id:str}/reminders",
        status_code=202,
        summary="An alle erinnern, die noch nicht eingereicht haben (Ministerium)",
    )
    async def remind(
        self, request: Request[Any, Any, Any], principal: Principal, survey_id: IdParam
    ) -> c.ReminderResult:
        return await _surveys(request).remind(principal, survey_id)

    @get(
        "/{survey_id:str}/results",
        summary="Ergebnisse je Frage: Häufigkeiten, Kennzahlen, Matrix, Freitexte",
        description="Für das Ministerium jederzeit, für die Angesprochenen nach dem Schließen "
        "(Freitexte dann ohne Namen). Filter nach Landkreis und Art der Kommune.",
    )
    async def results(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        survey_id: IdParam,
        landkreis: KreisParam = None,
        kind: OrganisationKind | None = None,
    ) -> c.Results:
        req = c.GetResults(survey_id=survey_id, landkreis=landkreis, kind=kind)
        return await _surveys(request).results(principal, req)

    @get(
        "/{survey_id:str}/results.csv",
        summary="Ergebnisse als CSV (UTF-8 mit BOM, Semikolon), eine Zeile je Antwort (Ministerium)",
        media_type="text/csv",
    )
    async def results_csv(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        survey_id: IdParam,
        landkreis: KreisParam = None,
        kind: OrganisationKind | None = None,
    ) -> Response[bytes]:
        req = c.ExportResults(survey_id=survey_id, format="csv", landkreis=landkreis, kind=kind)
        return _file(await _surveys(request).export(principal, req))

    @get(
        "/{survey_id:str}/results.xlsx",
        summary="Ergebnisse als Excel-Datei (XLSX), eine Zeile je Antwort (Ministerium)",
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    async def results_xlsx(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        survey_id: IdParam,
        landkreis: KreisParam = None,
        kind: OrganisationKind | None = None,
    ) -> Response[bytes]:
        req = c.ExportResults(survey_id=survey_id, format="xlsx", landkreis=landkreis, kind=kind)
        return _file(await _surveys(request).export(principal, req))
