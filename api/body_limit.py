"""Refuses bodies over the configured size before any handler buffers them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import ProblemError, problem_response


class BodyTooLargeError(ProblemError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "body-too-large", f"request bodies are limited to {limit} bytes", field="body")


class BodyLimitMiddleware:
    """Checks Content-Length up front and counts streamed (chunked) bodies as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await problem_response(BodyTooLargeError(self.max_bytes))(scope, receive, send)
                return
        seen = 0
        too_large = False

        async def counting_receive() -> Message:
            # Past the limit the app is told the client left, so it stops reading; the 413 is sent below.
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large:
            await problem_response(BodyTooLargeError(self.max_bytes))(scope, receive, send)
