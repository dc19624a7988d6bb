"""Turns: status, usage and error of one turn, and its stream resumable by index."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from api.chat_workflow import STREAM_RESPONSE
from api.dependencies import DB, CurrentCaller
from api.limits import StreamSlot
from api.ownership import visible_turns
from api.pagination import MAX_SEQ
from api.problems import ProblemError, not_found, problem_responses
from api.questions import answered_but_waiting, pending_question, save_answer, wake_turn
from api.temporal import Temporal
from api.turn_stream import turn_frames, ui_stream_response
from models.chat_turn_schemas import AnswerAccepted, QuestionAnswer, TurnOut, TurnUsage
from models.enums import TurnStatus
from models.tables import Turn, TurnEvent, UsageEvent

router = APIRouter(prefix="/turns", tags=["turns"])


async def _turn(db: DB, caller: CurrentCaller, turn_id: uuid.UUID) -> Turn:
    turn = await db.scalar(select(Turn).where(Turn.id == turn_id, visible_turns(caller)))
    if turn is None:
        raise not_found("turn", turn_id, "turn_id")
    return turn


@router.get("/{turn_id}", response_model=TurnOut, responses=problem_responses(401, 404, 422))
async def get_turn(turn_id: uuid.UUID, db: DB, caller: CurrentCaller) -> TurnOut:
    turn = await _turn(db, caller, turn_id)
    totals = (
        await db.execute(
            select(
                func.coalesce(func.sum(UsageEvent.input_tokens), 0),
                func.coalesce(func.sum(UsageEvent.output_tokens), 0),
                func.coalesce(func.sum(UsageEvent.cache_write_tokens), 0),
                func.coalesce(func.sum(UsageEvent.cache_read_tokens), 0),
                func.coalesce(func.sum(UsageEvent.cost_usd), Decimal(0)),
            ).where(UsageEvent.turn_id == turn.id)
        )
    ).one()
    return TurnOut(
        id=turn.id,
        chat_id=turn.chat_id,
        session_id=turn.session_id,
        number=turn.number,
        workflow_id=turn.workflow_id,
        parent_turn_id=turn.parent_turn_id,
        status=TurnStatus(turn.status),
        trigger=turn.trigger,
        model=turn.model_id,
        user_message_id=turn.user_message_id,
        assistant_message_id=turn.assistant_message_id,
        finish_reason=turn.finish_reason,
        error=turn.error,
        attempts=turn.attempts,
        step_count=turn.step_count,
        last_event_seq=turn.last_event_seq,
        created_at=turn.created_at,
        started_at=turn.started_at,
        first_token_at=turn.first_token_at,
        finished_at=turn.finished_at,
        pending_question=await pending_question(db, turn.id),
        usage=TurnUsage(
            input_tokens=totals[0],
            output_tokens=totals[1],
            cache_write_tokens=totals[2],
            cache_read_tokens=totals[3],
            cost_usd=totals[4],
        ),
    )


@router.get(
    "/{turn_id}/stream",
    response_class=StreamingResponse,
    responses=STREAM_RESPONSE | problem_responses(401, 404, 410, 422, 429),
    summary="A turn's stream from any point, live or finished (Last-Event-ID or starting_after)",
)
async def stream_turn_from(
    turn_id: uuid.UUID,
    request: Request,
    db: DB,
    caller: CurrentCaller,
    _stream: StreamSlot,
    starting_after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Send events with seq above this")
    ] = None,
    last_event_id: Annotated[
        int | None, Header(ge=0, le=MAX_SEQ, description="The SSE id of the last event received")
    ] = None,
) -> StreamingResponse:
    turn = await _turn(db, caller, turn_id)
    after = max(starting_after or 0, last_event_id or 0)
    kept = await db.scalar(select(func.count()).select_from(TurnEvent).where(TurnEvent.turn_id == turn.id))
    if not kept and turn.last_event_seq > 0:
        raise ProblemError(
            410, "stream-expired", "this turn's stream log was pruned; read the message instead", field="turn_id"
        )
    return ui_stream_response(
        turn_frames(request, turn.id, after),
        {"X-Turn-Id": str(turn.id)},
    )


@router.post(
    "/{turn_id}/input",
    response_model=AnswerAccepted,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 503),
    summary="Answer the question the turn is waiting on (from any device)",
)
async def answer_question(
    turn_id: uuid.UUID, body: QuestionAnswer, db: DB, caller: CurrentCaller, temporal: Temporal
) -> AnswerAccepted:
    """The answer is saved before the turn is woken: a second answer gets 409 and the first one stands."""
    turn = await _turn(db, caller, turn_id)
    try:
        await save_answer(db, turn, body.tool_call_id, body.answer)
    except ProblemError:
        if await answered_but_waiting(db, turn, body.tool_call_id):
            await wake_turn(await temporal.client(), turn, body.tool_call_id)  # an earlier wake-up may be lost
        raise
    await wake_turn(await temporal.client(), turn, body.tool_call_id)
    return AnswerAccepted(turn_id=turn.id, tool_call_id=body.tool_call_id)
