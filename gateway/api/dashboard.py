"""The dashboard "Zahlen und Fakten" as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.params import Parameter

from gateway import dashboard as dash
from gateway.auth import api_principal, gateway_of
from services.contracts.envelope import Principal
from services.runtime.errors import Invalid, field

KreisParam = Annotated[
    str | None,
    Parameter(pattern=r"^[0-9]{5}$", description="AGS des Landkreises oder der kreisfreien Stadt"),
]


async def load(request: Request[Any, Any, Any], who: Principal, kreis: str | None) -> dash.Dashboard:
    board = await dash.dashboard(gateway_of(request).rpc, who, kreis)
    if kreis and board.kreise and kreis not in {k.id for k in board.kreise}:
        raise Invalid(
            "Unbekannter Landkreis.",
            [field("kreis", f"„{kreis}“ ist kein Landkreis und keine kreisfreie Stadt.")],
        )
    return board


class DashboardController(Controller):
    path = "/api/v1/dashboard"
    tags = ["Zahlen und Fakten"]
    dependencies = {"principal": Provide(api_principal)}

    @get(
        "/",
        summary="Zahlen und Fakten: landesweit oder für einen Landkreis",
        description="Jede Zahl wird aus den Daten des zuständigen Dienstes berechnet. Antwortet ein "
        "Dienst nicht, sind seine Zahlen `null` und er steht in `unavailable`.",
    )
    async def get_dashboard(
        self, request: Request[Any, Any, Any], principal: Principal, kreis: KreisParam = None
    ) -> dash.Dashboard:
        return await load(request, principal, kreis)
