"""Relays a resolve/escalate draft to the client as an AI SDK UI message stream while a worker writes it.

The model runs on a worker (the `HandoffDraft` workflow), like every model call. Its text comes back over
pg_notify to this process's draft hub, so no token enters workflow history; the workflow only says how the draft
ended. A draft is not resumable: it is cheap to ask again, and a reader who leaves cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, TemporalError
from temporalio.service import RPCError

from api.draft_hub import DraftHub
from models.names import HANDOFF_DRAFT_WORKFLOW, HOUSEKEEPING_KIND, MODEL_ERROR_PREFIX
from models.search_attributes import start_attributes
from models.session_summary import DraftNotice, HandoffDraftInput, HandoffDraftResult, handoff_draft_workflow_id
from turnlog import chunks
from turnlog.reader import DONE, KEEP_ALIVE, sse_frame

_log = logging.getLogger("turnflow.api.handoff_draft")
TEXT_ID = "draft"
# The workflow's end can overtake the draft's last notice on its way: wait this long for the notice.
END_GRACE_S = 2.0
# Bounds the whole draft, retries included, so a reader never waits forever (e.g. for a worker that never comes).
DRAFT_TIMEOUT = timedelta(minutes=10)
INTERRUPTED = "the draft was interrupted; ask for it again"


class _DraftFailed(Exception):
    """Ends the stream with an `error` chunk carrying this message."""


@dataclass(frozen=True)
class _Outcome:
    error: str | None


# What a draft's relay waits on: the worker's notices and, beside them, how the workflow ended.
_Inbox = asyncio.Queue[DraftNotice | _Outcome]


class _DraftText:
    """The text relayed so far. Notices may repeat; a retry's text cannot be spliced after an earlier attempt's."""

    def __init__(self) -> None:
        self.text = ""
        self.attempt = 1

    def accept(self, notice: DraftNotice) -> str:
        """The part of the notice not relayed yet."""
        if notice.attempt < self.attempt:
            return ""
        if notice.attempt > self.attempt:
            if self.text:
                raise _DraftFailed(INTERRUPTED)
            self.attempt = notice.attempt
        if notice.offset > len(self.text):
            return ""  # a notice was lost (the LISTEN connection dropped): the end notice will not match
        piece = notice.delta[len(self.text) - notice.offset :]
        self.text += piece
        return piece

    def ended(self, notice: DraftNotice) -> bool:
        """True at the current attempt's end notice; a draft with a gap fails rather than end incomplete."""
        if not notice.end or notice.attempt != self.attempt:
            return False
        if notice.offset != len(self.text):
            raise _DraftFailed(INTERRUPTED)
        return True


def _reason(exc: BaseException, workflow_id: str) -> str:
    """The model's own message (e.g. an overloaded or refused call); any other failure is only logged."""
    cause: BaseException | None = exc
    while isinstance(cause, TemporalError):
        if isinstance(cause, ApplicationError) and (cause.type or "").startswith(MODEL_ERROR_PREFIX):
            return f"the draft failed: {cause.message}"
        cause = cause.cause
    _log.error("draft workflow %s failed: %s", workflow_id, exc)
    return "the draft failed; it is logged, ask for it again"


async def _report_outcome(handle: WorkflowHandle[Any, HandoffDraftResult], queue: _Inbox) -> None:
    try:
        await handle.result()
    except WorkflowFailureError as exc:
        queue.put_nowait(_Outcome(_reason(exc, handle.id)))
    except RPCError as exc:
        _log.warning("draft workflow %s: lost track of it: %s", handle.id, exc)
        queue.put_nowait(_Outcome(INTERRUPTED))
    else:
        queue.put_nowait(_Outcome(None))


async def _relay(queue: _Inbox, keepalive_s: float) -> AsyncIterator[str]:
    draft = _DraftText()
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    while True:
        wait = keepalive_s if deadline is None else max(0.0, deadline - loop.time())
        try:
            item = await asyncio.wait_for(queue.get(), wait)
        except TimeoutError:
            if deadline is not None:
                raise _DraftFailed(INTERRUPTED) from None
            yield KEEP_ALIVE
            continue
        if isinstance(item, _Outcome):
            if item.error is not None:
                raise _DraftFailed(item.error)
            deadline = loop.time() + END_GRACE_S
            continue
        if piece := draft.accept(item):
            yield sse_frame(chunks.part_delta("text", TEXT_ID, piece))
        if draft.ended(item):
            return


async def stream_handoff_draft(
    client: Client, hub: DraftHub, task_queue: str, params: HandoffDraftInput, keepalive_s: float
) -> AsyncIterator[str]:
    """SSE frames of one draft: start, one text part, finish (or error), then `data: [DONE]`."""
    queue: _Inbox = asyncio.Queue()
    metadata = {"kind": params.kind.value, "sessionId": params.session_id}
    yield sse_frame(chunks.start(f"draft-{params.draft_id}", metadata))
    yield sse_frame(chunks.start_step())
    yield sse_frame(chunks.part_start("text", TEXT_ID))
    handle: WorkflowHandle[Any, HandoffDraftResult] | None = None
    outcome: asyncio.Task[None] | None = None
    relayed = False
    # Subscribed before the workflow starts: a notice sent before anyone listens is lost.
    with hub.subscription(params.draft_id, queue.put_nowait):
        try:
            try:
                handle = await client.start_workflow(
                    HANDOFF_DRAFT_WORKFLOW,
                    params,
                    id=handoff_draft_workflow_id(params.session_id, params.draft_id),
                    task_queue=task_queue,
                    result_type=HandoffDraftResult,
                    execution_timeout=DRAFT_TIMEOUT,
                    static_summary=f"{params.kind} draft for session {params.session_id}",
                    search_attributes=start_attributes(HOUSEKEEPING_KIND, session_id=params.session_id),
                )
            except RPCError as exc:
                _log.error("draft %s of session %s could not start: %s", params.draft_id, params.session_id, exc)
                raise _DraftFailed("the draft could not be started; retry shortly") from exc
            outcome = asyncio.create_task(_report_outcome(handle, queue))
            async for frame in _relay(queue, keepalive_s):
                yield frame
            relayed = True
            yield sse_frame(chunks.part_end("text", TEXT_ID))
            yield sse_frame(chunks.finish_step())
            yield sse_frame(chunks.finish())
        except _DraftFailed as exc:
            yield sse_frame(chunks.part_end("text", TEXT_ID))
            yield sse_frame(chunks.error(str(exc)))
        finally:
            # Shielded: when the reader leaves, this runs inside a cancelled scope and must still clean up.
            with anyio.CancelScope(shield=True):
                if outcome is not None and not outcome.done():
                    outcome.cancel()  # a whole draft may be relayed before its workflow reports the end
                    if handle is not None and not relayed:
                        with contextlib.suppress(RPCError):
                            await handle.cancel()  # nobody reads the draft any more: stop paying for it
    yield DONE
