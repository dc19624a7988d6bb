"""Refuses U+0000 in a request's path or query before any handler runs: PostgreSQL text cannot hold it, and a
lookup by such a value would fail as a server error instead of answering 422."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import ProblemError, problem_response


def _nul_field(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (field := _nul_field(scope)) is not None:
            error = ProblemError(
                422, "validation-error", f"{field}: may not contain NUL (U+0000) characters", field=field
            )
            await problem_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)
