"""Calls into the surveys part of the surveys service."""

from __future__ import annotations

from services.contracts import surveys as c
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

E = c.Endpoints


class SurveysClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def create(self, who: Principal, req: c.CreateSurvey) -> c.Survey:
        return await self.rpc.call(c.SERVICE, E.CREATE, req, c.Survey, principal=who)

    async def update(self, who: Principal, req: c.UpdateSurvey) -> c.Survey:
        return await self.rpc.call(c.SERVICE, E.UPDATE, req, c.Survey, principal=who)

    async def delete(self, who: Principal, survey_id: str) -> None:
        await self.rpc.call(c.SERVICE, E.DELETE, c.GetSurvey(id=survey_id), type(None), principal=who)

    async def list_surveys(self, who: Principal, req: c.ListSurveys) -> c.SurveyPage:
        return await self.rpc.call(c.SERVICE, E.LIST, req, c.SurveyPage, principal=who)

    async def get(self, who: Principal, survey_id: str) -> c.Survey:
        return await self.rpc.call(c.SERVICE, E.GET, c.GetSurvey(id=survey_id), c.Survey, principal=who)

    async def get_for_page(self, who: Principal, survey_id: str) -> c.SurveyForPage:
        req = c.GetSurvey(id=survey_id)
        return await self.rpc.call(c.SERVICE, E.GET_FOR_PAGE, req, c.SurveyForPage, principal=who)

    async def publish(self, who: Principal, survey_id: str) -> c.Survey:
        return await self.rpc.call(c.SERVICE, E.PUBLISH, c.GetSurvey(id=survey_id), c.Survey, principal=who)

    async def close(self, who: Principal, survey_id: str) -> c.Survey:
        return await self.rpc.call(c.SERVICE, E.CLOSE, c.GetSurvey(id=survey_id), c.Survey, principal=who)

    async def response(self, who: Principal, survey_id: str) -> c.Response:
        req = c.GetResponse(survey_id=survey_id)
        return await self.rpc.call(c.SERVICE, E.RESPONSE_GET, req, c.Response, principal=who)

    async def save(self, who: Principal, req: c.SaveResponse) -> c.Response:
        return await self.rpc.call(c.SERVICE, E.RESPONSE_SAVE, req, c.Response, principal=who)

    async def submit(self, who: Principal, req: c.SubmitResponse) -> c.Response:
        return await self.rpc.call(c.SERVICE, E.RESPONSE_SUBMIT, req, c.Response, principal=who)

    async def reopen(self, who: Principal, survey_id: str) -> c.Response:
        req = c.GetResponse(survey_id=survey_id)
        return await self.rpc.call(c.SERVICE, E.RESPONSE_REOPEN, req, c.Response, principal=who)

    async def progress(self, who: Principal, survey_id: str) -> c.Progress:
        return await self.rpc.call(
            c.SERVICE, E.PROGRESS, c.GetSurvey(id=survey_id), c.Progress, principal=who
        )

    async def remind(self, who: Principal, survey_id: str) -> c.ReminderResult:
        req = c.RequestReminder(survey_id=survey_id)
        return await self.rpc.call(c.SERVICE, E.REMIND, req, c.ReminderResult, principal=who)

    async def results(self, who: Principal, req: c.GetResults) -> c.Results:
        return await self.rpc.call(c.SERVICE, E.RESULTS, req, c.Results, principal=who)

    async def export(self, who: Principal, req: c.ExportResults) -> c.ExportFile:
        # an export of a large survey takes longer than an ordinary call
        return await self.rpc.call(c.SERVICE, E.EXPORT, req, c.ExportFile, principal=who, timeout=30.0)
