"""The error answers of the API, written into the OpenAPI schema in one place.

Every `/api/` operation can answer with the RFC 9457 problems `gateway/problems.py` produces
(not logged in, not allowed, unknown id, a service away, ...). Litestar only documents its own
validation error, in a shape the gateway never sends, so after the schema is built every API
operation gets the problem statuses that apply to it, all pointing at one `Problem` component.
New controllers are covered without annotating each handler.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
)

from gateway.problems import PROBLEM_JSON, TITLES

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["status", "title"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "title": Schema(type=OpenAPIType.STRING),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
    },
    description="RFC 9457 Problem Details; `errors` nennt bei Eingabefehlern Feld und Grund.",
)

# statuses any API operation may answer with: malformed or invalid parameters, not logged in,
# not allowed, unknown id, too many requests, a service away or too slow
ANY_OPERATION = (400, 401, 403, 404, 422, 429, 503, 504)
# and those of requests that carry or change something
WRITES = (409, 413, 415)
WRITE_METHODS = ("post", "put", "patch", "delete")
DESCRIPTIONS = {
    400: "Die Anfrage ist fehlerhaft (kein gültiges JSON, falsche Form).",
    401: "Nicht angemeldet.",
    403: "Keine Berechtigung (auch: CSRF-Token fehlt).",
    404: "Unbekannte Kennung.",
    409: "Passt nicht zum aktuellen Zustand (geschlossen, schon abgegeben, voll).",
    413: "Die Anfrage ist zu groß.",
    415: "Der Inhalt ist kein JSON.",
    422: "Ungültige Eingaben; `errors` nennt Feld und Grund.",
    429: "Zu viele Anfragen; `Retry-After` sagt, wann es wieder geht.",
    503: "Ein Dienst ist gerade nicht erreichbar; `Retry-After` sagt, wann es sich lohnt.",
    504: "Ein Dienst hat nicht rechtzeitig geantwortet.",
}
RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING), description="Sekunden bis zum nächsten Versuch"
)


def _problem(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] | None = (
        {"Retry-After": RETRY_AFTER} if status in (429, 503) else None
    )
    return OpenAPIResponse(
        description=DESCRIPTIONS.get(status) or TITLES.get(status, "Fehler"),
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
        headers=headers,
    )


def document_problems(openapi: OpenAPI) -> OpenAPI:
    """Add the problem answers to every API operation (in place; returns the same object)."""
    if openapi.components is None:
        openapi.components = Components()
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    schemas["Problem"] = PROBLEM_SCHEMA
    openapi.components.schemas = schemas
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            for code, response in responses.items():
                # "204 No Content" has no body, whatever the handler's return annotation says
                if code == "204" and isinstance(response, OpenAPIResponse):
                    response.content = None
            if path.startswith("/api/"):
                statuses = ANY_OPERATION + (WRITES if method in WRITE_METHODS else ())
                for status in statuses:
                    # Litestar's own 400 describes an error body the gateway never sends
                    responses[str(status)] = _problem(status)
            operation.responses = responses
    return openapi
