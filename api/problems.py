"""RFC 9457 problem+json for every error, with a stable `type` and the offending field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.wire import NUL_ERROR

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("turnflow.api")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:turnflow:problem:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "no session 5b0f… in this account",
                    "field": "session_id",
                }
            ]
        }
    )

    type: str = Field(description="Stable identifier of the kind of problem: urn:turnflow:problem:<slug>.")
    title: str
    status: int
    detail: str | None = None
    field: str | None = Field(None, description="The request field at fault, when there is one.")
    errors: list[FieldError] | None = Field(None, description="Every invalid field, for validation problems.")


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        field: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.problem = Problem(
            type=f"urn:turnflow:problem:{slug}",
            title=_TITLES.get(status, "Error"),
            status=status,
            detail=detail,
            field=field,
            errors=errors,
        )
        self.headers = headers


def not_found(kind: str, value: object, field: str) -> ProblemError:
    """Another account's id answers exactly like an unknown one, so ids leak nothing."""
    return ProblemError(404, "not-found", f"no {kind} {value} in this account", field=field)


def problem_response(error: ProblemError) -> JSONResponse:
    return JSONResponse(
        error.problem.model_dump(exclude_none=True),
        status_code=error.problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def _location(error: Any) -> tuple[Any, ...]:
    """Where the error is; a NUL character found by a model as a whole names the field that holds it."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == NUL_ERROR:
        loc += tuple(str(error["ctx"]["path"]).split("."))
    return loc


async def _on_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem_response(ProblemError(400, "malformed-json", "the request body is not valid JSON", field="body"))
    errors = [FieldError(field=_field_name(_location(e)), message=str(e.get("msg", ""))) for e in raw]
    first = errors[0] if errors else FieldError(field="body", message="invalid request")
    detail = f"{first.field}: {first.message}"
    return problem_response(ProblemError(422, "validation-error", detail, field=first.field, errors=errors))


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(ProblemError(exc.status_code, slug, detail or _TITLES.get(exc.status_code, "Error")))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(ProblemError(500, "internal-error", "the server failed; the error is logged"))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


# Shared OpenAPI `responses=` entries so every route documents its problem documents.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": _TITLES.get(status, "Error")}
        for status in statuses
    }
