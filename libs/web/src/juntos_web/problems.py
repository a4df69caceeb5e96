"""RFC 9457 problem details: every error a service returns has the same machine-readable shape.

Partner systems integrate with five services; one error format means one error handler on their
side. Internals never reach the client: an unexpected exception becomes a generic 500 whose
details go to the log (with the trace id) and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from juntos_events.logs import get_logger
from juntos_events.rules import ReglaIncumplida
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:juntos:problem:"

log = get_logger(__name__)


class FieldError(BaseModel):
    """One invalid input, located like `body.fecha` or `query.limit`."""

    field: str = Field(description="Where the invalid value is: body.x.y, query.x, path.x...")
    detail: str = Field(description="Readable message, e.g. 'body.fecha: Input should be ...'")
    type: str = Field(description="Machine-readable reason (pydantic error type)")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details; extra members (e.g. `checks`) are allowed by the RFC."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="URI identifying the problem type")
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str | None = Field(None, description="Explanation of this occurrence")
    instance: str | None = Field(None, description="The request path that failed")
    errors: list[FieldError] | None = Field(None, description="Invalid inputs (422 only)")


class Problem(Exception):
    """Raised by routes and handlers to answer with a problem; never carries internals.

    `type` may be a short slug ("stale-version"), expanded to urn:juntos:problem:stale-version;
    extra keyword arguments become extension members of the body.
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        type: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or _phrase(status))
        self.status = status
        self.detail = detail
        self.title = title or _phrase(status)
        self.type = f"{PROBLEM_TYPE_PREFIX}{type}" if type and ":" not in type else type
        self.headers = dict(headers or {})
        self.extensions = extensions

    def response(self, request: Request | None = None) -> JSONResponse:
        """The one place that renders a problem body, so every error looks the same."""
        body: dict[str, Any] = {
            "type": self.type or "about:blank",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if request is not None:
            body["instance"] = request.url.path
        body.update({k: v for k, v in self.extensions.items() if v is not None})
        return JSONResponse(
            body, status_code=self.status, headers=self.headers, media_type=PROBLEM_JSON
        )


def problema(regla: ReglaIncumplida) -> Problem:
    """A domain rule's refusal as the client sees it: its status, message, code and reasons."""
    return Problem(regla.status, str(regla), type=regla.codigo, motivos=list(regla.motivos) or None)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    out = []
    for error in errors:
        field = ".".join(str(part) for part in error.get("loc", ())) or "request"
        message = str(error.get("msg", "Invalid value"))
        out.append({"field": field, "detail": f"{field}: {message}", "type": error.get("type", "")})
    return out


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return exc.response(request)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (404 unknown path, 405 with Allow) keep their status and headers."""
    assert isinstance(exc, HTTPException)
    detail = None if exc.detail == _phrase(exc.status_code) else str(exc.detail)
    return Problem(exc.status_code, detail, headers=exc.headers).response(request)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    detail = "; ".join(e["detail"] for e in errors)
    return Problem(422, detail, title="Invalid request", type="validation", errors=errors).response(
        request
    )


class UnhandledErrorMiddleware:
    """Turns an unexpected exception into a bare 500 problem and logs it once, with its trace.

    A plain ASGI middleware rather than an `Exception` handler: Starlette re-raises after such a
    handler, so the server would log the same error twice and test clients would see a crash
    instead of the response a partner would get.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            span = trace.get_current_span()
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
            log.exception("unhandled error", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            problem = Problem(500, "An unexpected error occurred; it has been logged.")
            await problem.response(Request(scope))(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error path of `app` answers application/problem+json."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_middleware(UnhandledErrorMiddleware)


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response entry whose body is a ProblemDetail."""
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_doc(
        "The body could not be parsed (not UTF-8, not JSON, or an unpaired UTF-16 surrogate)"
    ),
    401: problem_doc("Missing, invalid or expired bearer token"),
    403: problem_doc("The caller's role or territory does not allow this"),
    422: problem_doc("The request is not valid; `errors` lists each invalid input"),
    500: problem_doc("Unexpected error; details are in the service's logs"),
}
"""Problem responses every authenticated route can give; pass as `responses=` (the factory
does it for every router it mounts) so clients and schemathesis know the error shapes."""


def problem_schemas() -> dict[str, Any]:
    """JSON Schemas of ProblemDetail and FieldError, ready for OpenAPI `components.schemas`."""
    schema = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, "ProblemDetail": schema}
