"""Transport adapter: NATS micro endpoints of surveys, each a thin call into the service."""

from __future__ import annotations

from typing import Any

from services.contracts import surveys as c
from services.contracts.envelope import Principal
from services.runtime.errors import Unauthorized
from services.runtime.rpc import Endpoint
from services.surveys.questionnaires.service import QuestionnairesService

E = c.Endpoints


def _who(principal: Principal | None) -> Principal:
    if principal is None:  # the wrapper refuses anonymous calls already; this narrows the type
        raise Unauthorized()
    return principal


def endpoints(svc: QuestionnairesService) -> list[Endpoint[Any]]:
    async def create(p: Principal | None, r: c.CreateSurvey) -> c.Survey:
        return await svc.create(_who(p), r)

    async def update(p: Principal | None, r: c.UpdateSurvey) -> c.Survey:
        return await svc.update(_who(p), r)

    async def delete(p: Principal | None, r: c.GetSurvey) -> None:
        await svc.delete(_who(p), r.id)

    async def list_surveys(p: Principal | None, r: c.ListSurveys) -> c.SurveyPage:
        return await svc.list_surveys(_who(p), r)

    async def get(p: Principal | None, r: c.GetSurvey) -> c.Survey:
        return await svc.get(_who(p), r.id)

    async def get_for_page(p: Principal | None, r: c.GetSurvey) -> c.SurveyForPage:
        return await svc.get_for_page(_who(p), r.id)

    async def publish(p: Principal | None, r: c.GetSurvey) -> c.Survey:
        return await svc.publish(_who(p), r.id)

    async def close(p: Principal | None, r: c.GetSurvey) -> c.Survey:
        return await svc.close(_who(p), r.id)

    async def response(p: Principal | None, r: c.GetResponse) -> c.Response:
        return await svc.response(_who(p), r.survey_id)

    async def save(p: Principal | None, r: c.SaveResponse) -> c.Response:
        return await svc.save(_who(p), r)

    async def submit(p: Principal | None, r: c.SubmitResponse) -> c.Response:
        return await svc.submit(_who(p), r)

    async def reopen(p: Principal | None, r: c.GetResponse) -> c.Response:
        return await svc.reopen(_who(p), r.survey_id)

    async def progress(p: Principal | None, r: c.GetSurvey) -> c.Progress:
        return await svc.progress(_who(p), r.id)

    async def remind(p: Principal | None, r: c.RequestReminder) -> c.ReminderResult:
        return await svc.remind(_who(p), r.survey_id)

    async def results(p: Principal | None, r: c.GetResults) -> c.Results:
        return await svc.results(_who(p), r)

    async def export(p: Principal | None, r: c.ExportResults) -> c.ExportFile:
        return await svc.export(_who(p), r)

    return [
        Endpoint(E.CREATE, c.CreateSurvey, create),
        Endpoint(E.UPDATE, c.UpdateSurvey, update),
        Endpoint(E.DELETE, c.GetSurvey, delete),
        Endpoint(E.LIST, c.ListSurveys, list_surveys),
        Endpoint(E.GET, c.GetSurvey, get),
        Endpoint(E.GET_FOR_PAGE, c.GetSurvey, get_for_page),
        Endpoint(E.PUBLISH, c.GetSurvey, publish),
        Endpoint(E.CLOSE, c.GetSurvey, close),
        Endpoint(E.RESPONSE_GET, c.GetResponse, response),
        Endpoint(E.RESPONSE_SAVE, c.SaveResponse, save),
        Endpoint(E.RESPONSE_SUBMIT, c.SubmitResponse, submit),
        Endpoint(E.RESPONSE_REOPEN, c.GetResponse, reopen),
        Endpoint(E.PROGRESS, c.GetSurvey, progress),
        Endpoint(E.REMIND, c.RequestReminder, remind),
        Endpoint(E.RESULTS, c.GetResults, results),
        Endpoint(E.EXPORT, c.ExportResults, export),
    ]
