"""One lifecycle for guided and chat sessions: resolve, escalate, pause, resume, abandon; progress updates,
triage edits and model-written drafts of the resolve/escalate forms."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select, tuple_

from api.dependencies import DB, AppSettings, Caller, CurrentCaller
from api.draft_hub import DraftHub
from api.handoff_draft import stream_handoff_draft
from api.limits import DraftSlot
from api.ownership import visible_sessions
from api.pagination import CursorParam, decode_keyset_cursor, encode_cursor, page_limit
from api.problems import ProblemError, not_found, problem_responses
from api.session_queries import check_transition, load_session_out, lock_session, reject_archived
from api.temporal import Temporal
from api.turn_stream import ui_stream_response
from models.enums import SessionStatus
from models.session_lifecycle_schemas import (
    EscalateRequest,
    HandoffDraftRequest,
    ResolveRequest,
    StatusUpdateCreate,
    StatusUpdateOut,
    StatusUpdatePage,
    TriagePatch,
)
from models.session_schemas import SessionOut
from models.session_summary import HandoffDraftInput, HandoffKind
from models.tables import Session, SessionStatusUpdate

router = APIRouter(prefix="/sessions", tags=["sessions"])

STATUS_UPDATES_PAGE = 20
_MOVE = problem_responses(401, 404, 409, 422)
_MOVE_WITH_BODY = problem_responses(400, 401, 404, 409, 413, 422)
_DRAFT_TARGET = {HandoffKind.RESOLVE: SessionStatus.RESOLVED, HandoffKind.ESCALATE: SessionStatus.ESCALATED}
DRAFT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The draft as an AI SDK UI message stream (SSE): one text part, then `data: [DONE]`.",
        "content": {
            "text/event-stream": {
                "example": 'data: {"type":"text-delta","id":"draft","delta":"Resolution summary: "}\n\n'
            }
        },
    }
}


async def _move(
    db: DB, caller: Caller, session_id: uuid.UUID, target: SessionStatus, changes: dict[str, Any] | None = None
) -> SessionOut:
    """The one transition path: row locked, table checked, status and the action's fields saved together."""
    session = await lock_session(db, caller, session_id)
    check_transition(session.status, target)
    for name, value in {**(changes or {}), "status": target.value}.items():
        setattr(session, name, value)
    await db.commit()
    return await load_session_out(db, caller, session_id)


@router.post(
    "/{session_id}/resolve",
    response_model=SessionOut,
    responses=_MOVE_WITH_BODY,
    summary="Resolve: record what fixed it and why",
)
async def resolve_session(session_id: uuid.UUID, body: ResolveRequest, db: DB, caller: CurrentCaller) -> SessionOut:
    """Resolving again rewrites the resolution record."""
    return await _move(db, caller, session_id, SessionStatus.RESOLVED, {**body.model_dump(), "resolved_at": func.now()})


@router.post(
    "/{session_id}/escalate",
    response_model=SessionOut,
    responses=_MOVE_WITH_BODY,
    summary="Escalate: hand the session on with a package for the receiving engineer",
)
async def escalate_session(session_id: uuid.UUID, body: EscalateRequest, db: DB, caller: CurrentCaller) -> SessionOut:
    changes = {
        "escalation_reason": body.escalation_reason,
        "escalated_to": body.escalated_to,
        # Stored as the API writes it (camelCase), so a client reads back the package it sent.
        "escalation_package": body.escalation_package.model_dump(mode="json", by_alias=True),
        "escalated_at": func.now(),
    }
    return await _move(db, caller, session_id, SessionStatus.ESCALATED, changes)


def _plain_move(target: SessionStatus) -> Callable[[uuid.UUID, DB, Caller], Awaitable[SessionOut]]:
    """An action that only moves the session, with nothing to record beside the status."""

    async def move(session_id: uuid.UUID, db: DB, caller: CurrentCaller) -> SessionOut:
        return await _move(db, caller, session_id, target)

    return move


for _action, _target, _summary, _description in (
    ("pause", SessionStatus.PAUSED, "Pause the session", None),
    (
        "resume",
        SessionStatus.ACTIVE,
        "Make the session active again (also reopens a resolved, escalated or abandoned one)",
        "A reopened session keeps its last resolution or escalation record for reference.",
    ),
    ("abandon", SessionStatus.ABANDONED, "Abandon the session", None),
):
    router.add_api_route(
        f"/{{session_id}}/{_action}",
        _plain_move(_target),
        methods=["POST"],
        name=f"{_action}_session",
        response_model=SessionOut,
        responses=_MOVE,
        summary=_summary,
        description=_description or "",
    )


@router.patch(
    "/{session_id}/triage",
    response_model=SessionOut,
    responses=_MOVE_WITH_BODY,
    summary="Edit the triage header by hand (only the fields sent change)",
)
async def patch_triage(session_id: uuid.UUID, body: TriagePatch, db: DB, caller: CurrentCaller) -> SessionOut:
    session = await lock_session(db, caller, session_id)
    reject_archived(session.status)
    for name, value in body.changes().items():
        setattr(session, name, value)
    await db.commit()
    return await load_session_out(db, caller, session_id)


async def _owned_session(db: DB, caller: Caller, session_id: uuid.UUID) -> Session:
    session = await db.scalar(select(Session).where(Session.id == session_id, visible_sessions(caller)))
    if session is None:
        raise not_found("session", session_id, "session_id")
    return session


@router.post(
    "/{session_id}/status-update",
    status_code=status.HTTP_201_CREATED,
    response_model=StatusUpdateOut,
    responses=_MOVE_WITH_BODY,
    summary="Post a shareable progress update",
)
async def post_status_update(
    session_id: uuid.UUID, body: StatusUpdateCreate, db: DB, caller: CurrentCaller
) -> StatusUpdateOut:
    session = await _owned_session(db, caller, session_id)
    reject_archived(session.status)
    update = SessionStatusUpdate(session_id=session_id, account_id=caller.account_id, text=body.text)
    db.add(update)
    await db.commit()
    await db.refresh(update)
    return StatusUpdateOut.model_validate(update)


@router.get(
    "/{session_id}/status-updates",
    response_model=StatusUpdatePage,
    responses=problem_responses(401, 404, 422),
    summary="List progress updates, newest first",
)
async def list_status_updates(
    session_id: uuid.UUID,
    db: DB,
    caller: CurrentCaller,
    settings: AppSettings,
    limit: Annotated[int | None, Query(description=f"Page size (default {STATUS_UPDATES_PAGE})")] = None,
    cursor: CursorParam = None,
) -> StatusUpdatePage:
    await _owned_session(db, caller, session_id)
    size = page_limit(limit, STATUS_UPDATES_PAGE, settings.page_size_max)
    query = select(SessionStatusUpdate).where(SessionStatusUpdate.session_id == session_id)
    if cursor is not None:
        after = tuple_(*decode_keyset_cursor(cursor))
        query = query.where(tuple_(SessionStatusUpdate.created_at, SessionStatusUpdate.id) < after)
    order = (SessionStatusUpdate.created_at.desc(), SessionStatusUpdate.id.desc())
    rows = list(await db.scalars(query.order_by(*order).limit(size + 1)))
    items = [StatusUpdateOut.model_validate(row) for row in rows[:size]]
    last = items[-1] if len(rows) > size else None
    return StatusUpdatePage(items=items, next_cursor=encode_cursor(last.created_at, last.id) if last else None)


@router.post(
    "/{session_id}/handoff-draft",
    response_class=StreamingResponse,
    responses=DRAFT_STREAM | problem_responses(400, 401, 404, 409, 413, 422, 429, 503),
    summary="Stream a model-written draft of the resolve or escalate form from the session's conversation",
)
async def draft_handoff(
    session_id: uuid.UUID,
    body: HandoffDraftRequest,
    request: Request,
    db: DB,
    caller: CurrentCaller,
    settings: AppSettings,
    temporal: Temporal,
    _draft: DraftSlot,
) -> StreamingResponse:
    """Nothing is saved: the client shows the draft in the form and sends it with /resolve or /escalate."""
    session = await load_session_out(db, caller, session_id)
    check_transition(session.status, _DRAFT_TARGET[body.kind])
    if session.message_count == 0:
        raise ProblemError(409, "nothing-to-draft", "the session has no messages to draft from yet", field="session_id")
    client = await temporal.client()
    params = HandoffDraftInput(session_id=str(session_id), draft_id=str(uuid.uuid4()), kind=body.kind)
    await db.close()  # a draft may stream for a minute: give the pooled connection back first
    hub: DraftHub = request.app.state.draft_hub
    frames = stream_handoff_draft(client, hub, settings.task_queue, params, settings.stream_keepalive_s)
    return ui_stream_response(frames, {"X-Draft-Id": params.draft_id})
