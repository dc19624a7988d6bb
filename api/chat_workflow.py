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
from api.metrics import sender_stream
from api.problems import ProblemError, not_found, problem_responses
from api.questions import pending_question, save_answer, wake_turn
from api.temporal import Temporal
from api.tracing import annotate_turn
from api.turn_control import request_stop
from api.turn_start import StartedTurn, abandon_turn, start_turn
from api.turn_stream import turn_frames, ui_stream_response
from models.chat_turn_schemas import ChatTurnRequest
from models.enums import MessageRole
from models.names import CHAT_TURN_WORKFLOW, TURN_KIND
from models.search_attributes import start_attributes
from models.settings import Settings
from models.tables import Chat, Turn
from models.turns import ASK_USER_QUESTION_TOOL, TurnInput
from turnlog import chunks
from turnlog.reader import sse_frame

router = APIRouter(tags=["chat workflow"])
_log = logging.getLogger("turnflow.api.chat_workflow")

STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The AI SDK UI message stream (SSE); each event's `id` is its seq in the turn's log.",
        "content": {"text/event-stream": {"example": 'id: 1\ndata: {"type":"start","messageId":"msg_…"}\n\n'}},
    }
}


async def _start_workflow(temporal: Client, settings: Settings, started: StartedTurn, account_id: str) -> None:
    await temporal.start_workflow(
        CHAT_TURN_WORKFLOW,
        TurnInput(
            turn_id=str(started.turn_id),
            chat_id=started.chat_id,
            session_id=str(started.session_id),
            account_id=account_id,
            model=started.model,
            max_steps=settings.max_steps,
            subagent_max_steps=settings.subagent_max_steps,
            queued=started.queued,
        ),
        id=started.workflow_id,
        task_queue=settings.task_queue,
        search_attributes=start_attributes(
            TURN_KIND, chat_id=started.chat_id, session_id=str(started.session_id), account_id=account_id
        ),
        static_summary=f"chat {started.chat_id} · {started.model}" + (" · queued" if started.queued else ""),
    )


@router.post(
    "/chat/workflow",
    response_class=StreamingResponse,
    responses=STREAM_RESPONSE | problem_responses(400, 401, 404, 409, 413, 422, 503),
    summary="Send a message: starts a durable turn and streams it (AI SDK DefaultChatTransport)",
)
async def post_chat_turn(
    body: ChatTurnRequest,
    request: Request,
    db: DB,
    caller: CurrentCaller,
    settings: AppSettings,
    temporal: Temporal,
) -> StreamingResponse:
    received_at = time.monotonic()
    if body.message_id is not None and body.messages[-1].role == MessageRole.ASSISTANT:
        return await _continue_after_answers(body, request, db, caller, temporal)
    started = await start_turn(db, caller, body, settings.default_model())
    annotate_turn(started.turn_id, started.chat_id, started.session_id, caller.account_id)
    if not started.existing:
        try:
            await _start_workflow(await temporal.client(), settings, started, str(caller.account_id))
        except (RPCError, ProblemError) as exc:
            _log.error("turn %s: starting workflow %s failed: %s", started.turn_id, started.workflow_id, exc)
            await abandon_turn(db, started, "the turn could not be started; your message is saved, send it again")
            raise ProblemError(503, "temporal-unavailable", "the turn could not be started; retry shortly") from exc
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
    chat = await db.scalar(select(Chat).where(Chat.id == body.id, Chat.account_id == caller.account_id))
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
    if not chosen:
        raise ProblemError(409, "question-closed", "the message answers no waiting question", field="messages")
    call_id, output = chosen[0]
    seq = await save_answer(db, turn, call_id, output)
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
    | problem_responses(401, 404, 422),
    summary="Resume the running turn's stream from its start (AI SDK resume)",
)
async def resume_chat_stream(
    chat_id: Annotated[str, Path(max_length=128)],
    request: Request,
    db: DB,
    caller: CurrentCaller,
) -> Response:
    chat = await db.scalar(select(Chat).where(Chat.id == chat_id, Chat.account_id == caller.account_id))
    if chat is None:
        raise not_found("chat", chat_id, "chat_id")
    if chat.active_turn_id is None:
        return Response(status_code=204)
    headers = {"X-Turn-Id": str(chat.active_turn_id)}
    return ui_stream_response(
        turn_frames(request, chat.active_turn_id, 0),
        headers,
    )
