"""The AI SDK's endpoints: POST /chat/workflow starts a durable turn and streams it; GET …/stream resumes."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError

from api.dependencies import DB, AppSettings, CurrentCaller
from api.faults import SEND_COMMITTED, crash_point
from api.limits import StreamSlot
from api.metrics import sender_stream
from api.ownership import visible_chats
from api.problems import ProblemError, not_found, problem_responses
from api.questions import answer_seq, answered_but_waiting, pending_question, save_answer, wake_turn
from api.temporal import Temporal
from api.tracing import annotate_turn
from api.turn_control import end_turn_without_workflow, request_stop
from api.turn_start import StartedTurn, start_turn
from api.turn_stream import turn_frames, ui_stream_response
from models.chat_turn_schemas import ChatTurnRequest
from models.enums import MessageRole, Outcome
from models.settings import Settings
from models.tables import Chat, Turn
from models.turns import ASK_USER_QUESTION_TOOL, TurnInput
from turnlog import chunks
from turnlog.ending import hand_slot_on
from turnlog.launch import WorkflowState, start_turn_workflow, turn_workflow_state
from turnlog.reader import sse_frame

router = APIRouter(tags=["chat workflow"])
_log = logging.getLogger("turnflow.api.chat_workflow")

STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The AI SDK UI message stream (SSE); each event's `id` is its seq in the turn's log.",
        "content": {"text/event-stream": {"example": 'id: 1\ndata: {"type":"start","messageId":"msg_…"}\n\n'}},
    }
}


async def _launch(db: DB, temporal: Temporal, settings: Settings, started: StartedTurn, account_id: str) -> None:
    """Starts the turn's workflow, or gives the turn up (its slot handed on) and answers 503. A start whose answer
    was lost may still have taken effect, so the workflow is looked up before the turn is given up; should it start
    after all, its first step finds the turn ended and does nothing."""
    params = TurnInput(
        turn_id=str(started.turn_id),
        chat_id=started.chat_id,
        session_id=str(started.session_id),
        account_id=account_id,
        model=started.model,
        max_steps=settings.max_steps,
        subagent_max_steps=settings.subagent_max_steps,
        queued=started.queued,
    )
    client: Client | None = None
    try:
        client = await temporal.client()
        try:
            await start_turn_workflow(client, params, started.workflow_id, settings.task_queue)
        except RPCError as exc:
            state = await turn_workflow_state(client, started.workflow_id, params.turn_id)
            if state == WorkflowState.MISSING:
                raise
            _log.warning("turn %s: workflow %s started although its start failed: %s", params.turn_id, state, exc)
    except (RPCError, ProblemError) as exc:
        _log.error("turn %s: starting workflow %s failed: %s", started.turn_id, started.workflow_id, exc)
        reason = "the turn could not be started; your message is saved, send it again"
        next_workflow_id = await end_turn_without_workflow(db, started.turn_id, Outcome.FAILED, reason)
        if next_workflow_id and client is not None:
            await hand_slot_on(client, next_workflow_id)
        raise ProblemError(503, "temporal-unavailable", "the turn could not be started; retry shortly") from exc


@router.post(
    "/chat/workflow",
    response_class=StreamingResponse,
    responses=STREAM_RESPONSE | problem_responses(400, 401, 404, 409, 413, 422, 429, 503),
    summary="Send a message: starts a durable turn and streams it (AI SDK DefaultChatTransport)",
)
async def post_chat_turn(
    body: ChatTurnRequest,
    request: Request,
    db: DB,
    caller: CurrentCaller,
    settings: AppSettings,
    temporal: Temporal,
    _stream: StreamSlot,
) -> StreamingResponse:
    received_at = time.monotonic()
    if body.message_id is not None and body.messages[-1].role == MessageRole.ASSISTANT:
        return await _continue_after_answers(body, request, db, caller, temporal)
    started = await start_turn(db, caller, body, settings)
    annotate_turn(started.turn_id, started.chat_id, started.session_id, caller.account_id)
    if not started.existing:
        crash_point(SEND_COMMITTED)
        await _launch(db, temporal, settings, started, str(caller.account_id))
    if started.interrupted is not None:
        await request_stop(db, await temporal.client(), *started.interrupted)
    headers = {"X-Turn-Id": str(started.turn_id), "Location": f"/turns/{started.turn_id}/stream"}
    frames = turn_frames(request, started.turn_id, 0)
    if not started.existing:
        frames = sender_stream(frames, body.trigger, received_at)
    return ui_stream_response(frames, headers)


async def _continue_after_answers(
    body: ChatTurnRequest, request: Request, db: DB, caller: CurrentCaller, temporal: Temporal
) -> StreamingResponse:
    """The AI SDK way of answering: the client set the question's tool output (addToolOutput) and re-posted with
    messageId = the answer's id. The same turn goes on, streamed into the same message."""
    chat = await db.scalar(select(Chat).where(Chat.id == body.id, visible_chats(caller)))
    if chat is None:
        raise not_found("chat", body.id, "id")
    turn = await db.get(Turn, chat.active_turn_id) if chat.active_turn_id else None
    if turn is None or turn.assistant_message_id != body.message_id:
        raise ProblemError(409, "unknown-question", "no running turn is answering this message", field="messageId")
    answers = [
        (part["toolCallId"], part.get("output"))
        for part in body.messages[-1].parts
        if part.get("type") == f"tool-{ASK_USER_QUESTION_TOOL}" and part.get("state") == "output-available"
    ]
    waiting = await pending_question(db, turn.id)
    chosen = [(call_id, output) for call_id, output in answers if waiting and call_id == waiting.tool_call_id]
    if chosen:
        call_id, output = chosen[0]
        seq = await save_answer(db, turn, call_id, output)
    else:
        # The client's retry of an answer saved before: its wake-up may have been lost, so it is sent again.
        saved = [call_id for call_id, _ in answers if await answered_but_waiting(db, turn, call_id)]
        if not saved:
            raise ProblemError(409, "question-closed", "the message answers no waiting question", field="messages")
        call_id = saved[0]
        seq = await answer_seq(db, turn.id, call_id)
        await db.commit()
    await wake_turn(await temporal.client(), turn, call_id)
    start = sse_frame(chunks.start(turn.assistant_message_id))
    frames = turn_frames(request, turn.id, seq)
    return ui_stream_response(_prefixed(start, frames), {"X-Turn-Id": str(turn.id)})


async def _prefixed(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for frame in rest:
        yield frame


@router.get(
    "/chat/workflow/{chat_id}/stream",
    response_class=StreamingResponse,
    responses=STREAM_RESPONSE
    | {204: {"description": "No turn is running in this chat"}}
    | problem_responses(401, 404, 422, 429),
    summary="Resume the running turn's stream from its start (AI SDK resume)",
)
async def resume_chat_stream(
    chat_id: Annotated[str, Path(max_length=128)],
    request: Request,
    db: DB,
    caller: CurrentCaller,
    _stream: StreamSlot,
) -> Response:
    chat = await db.scalar(select(Chat).where(Chat.id == chat_id, visible_chats(caller)))
    if chat is None:
        raise not_found("chat", chat_id, "chat_id")
    if chat.active_turn_id is None:
        return Response(status_code=204)
    headers = {"X-Turn-Id": str(chat.active_turn_id)}
    return ui_stream_response(
        turn_frames(request, chat.active_turn_id, 0),
        headers,
    )
