"""A lean viewer of a turn's stream for fan-out runs: one socket, the C HTTP parser, and nothing kept but each
text-delta's word number and arrival time, so a thousand of them fit in the benchmark process."""

from __future__ import annotations

import asyncio
import json
import time

import httptools


class SseWatcher(asyncio.Protocol):
    """One viewer of `GET /turns/{id}/stream`. The stand-in model answers `w0 w1 …`, so a delta's text names its
    place in the answer whatever seq the viewer resumed from."""

    def __init__(self, request: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[float] = loop.create_future()
        self.ended: asyncio.Future[float] = loop.create_future()
        self.deltas: list[tuple[int, float]] = []
        self.last_type = ""
        self._request = request
        self._parser = httptools.HttpResponseParser(self)
        self._pending = b""
        self._now = 0.0
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._now = time.monotonic()  # once per read: every event in it arrived together
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, ValueError, KeyError) as exc:
            self._fail(f"unreadable stream: {exc!r}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost before data: [DONE] ({exc!r})")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # httptools callbacks
    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status == 200:
            self.connected.set_result(self._now)
        else:
            self._fail(f"the stream answered HTTP {status}")

    def on_body(self, body: bytes) -> None:
        *events, self._pending = (self._pending + body).split(b"\n\n")
        for event in events:
            self._on_event(event)

    def on_message_complete(self) -> None:
        self._fail("the response ended before data: [DONE]")

    def _on_event(self, event: bytes) -> None:
        data = next((line[6:] for line in event.split(b"\n") if line.startswith(b"data: ")), None)
        if data is None or self.ended.done():
            return  # a keep-alive comment
        if data == b"[DONE]":
            self.ended.set_result(self._now)
            self.close()
            return
        chunk = json.loads(data)
        self.last_type = chunk["type"]
        if self.last_type == "text-delta":
            self.deltas.append((int(chunk["delta"].strip()[1:]), self._now))
        elif self.last_type == "error":
            self._fail(f"the turn failed: {chunk.get('errorText')}")

    def _fail(self, why: str) -> None:
        """Fails whichever of the two the caller is waiting on: `ended` only once `connected` came."""
        if not self.connected.done():
            self.connected.set_exception(RuntimeError(why))
        elif not self.ended.done() and not self.connected.cancelled() and self.connected.exception() is None:
            self.ended.set_exception(RuntimeError(why))
        self.close()


def stream_request(host: str, path: str, api_key: str, last_event_id: int | None = None) -> bytes:
    """The GET a browser's EventSource sends, resuming by header when `last_event_id` is given."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Bearer {api_key}",
        "Accept: text/event-stream",
        *([f"Last-Event-ID: {last_event_id}"] if last_event_id is not None else []),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_watcher(host: str, port: int, request: bytes) -> SseWatcher:
    """A viewer whose response headers have arrived: from here on the API streams to it."""
    _, watcher = await asyncio.get_running_loop().create_connection(lambda: SseWatcher(request), host, port)
    await watcher.connected
    return watcher
