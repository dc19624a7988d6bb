"""Stop endpoints: the AI SDK's `…/stop` for a chat, and cancel for any turn. Both are idempotent."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.dependencies import DB, CurrentCaller
from api.ownership import visible_chats, visible_turns
from api.problems import not_found, problem_responses
from api.temporal import Temporal
from api.turn_control import request_stop
from models.chat_turn_schemas import StopRequest, StopResult
from models.enums import LIVE_TURN_STATUSES
from models.tables import Chat, Turn

router = APIRouter(tags=["chat workflow"])


async def _stop(
    db: AsyncSession, temporal: Temporal, turn: Turn, snapshot: list[dict[str, Any]] | None, response: Response
) -> StopResult:
    if turn.status not in LIVE_TURN_STATUSES:
        return StopResult(turn_id=turn.id, stopped=False)
    turn.stop_requested_at = turn.stop_requested_at or func.now()
    if snapshot and turn.client_snapshot is None:
        turn.client_snapshot = snapshot
    await db.flush()
    await request_stop(db, await temporal.client(), str(turn.id), turn.workflow_id)
    response.status_code = status.HTTP_202_ACCEPTED
    return StopResult(turn_id=turn.id, stopped=True)


@router.post(
    "/chat/workflow/{chat_id}/stop",
    response_model=StopResult,
    responses={
        202: {"description": "The running turn is stopping", "model": StopResult},
        **problem_responses(400, 401, 404, 413, 422),
    },
    summary="Stop the chat's running turn: closes the model stream, kills tools, keeps the partial answer",
)
async def stop_chat_turn(
    chat_id: Annotated[str, Path(max_length=128)],
    response: Response,
    db: DB,
    caller: CurrentCaller,
    temporal: Temporal,
    body: Annotated[StopRequest | None, Body()] = None,
) -> StopResult:
    chat = await db.scalar(select(Chat).where(Chat.id == chat_id, visible_chats(caller)))
    if chat is None:
        raise not_found("chat", chat_id, "chat_id")
    request = body or StopRequest()
    if chat.active_turn_id is None or (request.turn_id is not None and request.turn_id != chat.active_turn_id):
        return StopResult(turn_id=chat.active_turn_id, stopped=False)  # nothing running, or a stale stop
    turn = await db.get(Turn, chat.active_turn_id, with_for_update=True)
    assert turn is not None
    return await _stop(db, temporal, turn, request.text_snapshot(), response)


@router.post(
    "/turns/{turn_id}/cancel",
    response_model=StopResult,
    responses={202: {"description": "The turn is stopping", "model": StopResult}, **problem_responses(401, 404, 422)},
    summary="Stop a turn, running or queued",
)
async def cancel_turn(
    turn_id: uuid.UUID, response: Response, db: DB, caller: CurrentCaller, temporal: Temporal
) -> StopResult:
    # Filtered before locking: a turn outside the caller's view answers like an unknown one and is never locked.
    turn = await db.scalar(select(Turn).where(Turn.id == turn_id, visible_turns(caller)).with_for_update())
    if turn is None:
        raise not_found("turn", turn_id, "turn_id")
    return await _stop(db, temporal, turn, None, response)
