"""Sessions: the container of chats, with one status model for guided and free-chat sessions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import tuple_

from api.dependencies import DB, AppSettings, CurrentCaller
from api.pagination import CursorParam, decode_keyset_cursor, encode_cursor, page_limit
from api.problems import ProblemError, problem_responses
from api.session_queries import (
    check_transition,
    load_session_out,
    lock_session,
    reject_archived,
    session_rows,
    to_session_out,
)
from api.temporal import Temporal
from models.enums import SandboxState, SessionStatus, SessionType
from models.names import SESSION_ARCHIVED_SIGNAL
from models.session_schemas import SessionCreate, SessionOut, SessionPage, SessionPatch
from models.tables import Session
from turnlog.control import signal_sandbox

router = APIRouter(prefix="/sessions", tags=["sessions"])

DEFAULT_STATUSES = (SessionStatus.ACTIVE, SessionStatus.PAUSED)


def _statuses(values: list[str] | None) -> set[str]:
    """Default active+paused; `all` is every status but archived, which appears only when named."""
    wanted: set[str] = set()
    for value in (v.strip() for raw in values or [] for v in raw.split(",")):
        if value == "all":
            wanted.update(s.value for s in SessionStatus if s is not SessionStatus.ARCHIVED)
        elif value in SessionStatus.__members__.values():
            wanted.add(value)
        else:
            allowed = ", ".join([*(s.value for s in SessionStatus), "all"])
            raise ProblemError(
                422, "validation-error", f"unknown status {value!r}; use one of {allowed}", field="status"
            )
    return wanted or {s.value for s in DEFAULT_STATUSES}


def _external_refs(values: list[str] | None) -> dict[str, str]:
    refs: dict[str, str] = {}
    for value in values or []:
        key, sep, ref = value.partition(":")
        if not sep or not key or not ref:
            raise ProblemError(422, "validation-error", "external_ref must be key:value", field="external_ref")
        refs[key] = ref
    return refs


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses=problem_responses(400, 401, 403, 413, 422),
    summary="Create a session",
)
async def create_session(body: SessionCreate, db: DB, caller: CurrentCaller) -> SessionOut:
    values = body.model_dump(exclude_unset=True, exclude={"evidence_items"})
    if body.evidence_items is not None:
        values["evidence_items"] = [item.model_dump() for item in body.evidence_items]
    if caller.session_scope is not None or caller.chat_scope is not None:
        raise ProblemError(403, "token-scope", "this browser token is limited to one session or chat")
    session = Session(account_id=caller.account_id, owner_subject=caller.subject, **values)
    db.add(session)
    await db.commit()
    return await load_session_out(db, caller, session.id)


@router.get("", response_model=SessionPage, responses=problem_responses(401, 422), summary="List sessions")
async def list_sessions(
    db: DB,
    caller: CurrentCaller,
    settings: AppSettings,
    status_filter: Annotated[
        list[str] | None,
        Query(
            alias="status",
            description="Repeat or comma-separate. Default active,paused; `all` = every status but archived; "
            "archived sessions appear only when `archived` is named.",
        ),
    ] = None,
    session_type: Annotated[SessionType | None, Query(description="chat or guided; omit for both")] = None,
    subject_id: Annotated[str | None, Query(max_length=200)] = None,
    organization_id: Annotated[str | None, Query(max_length=200, description="Only this organization's")] = None,
    external_ref: Annotated[
        list[str] | None, Query(description="key:value, repeatable; all must match", examples=["trip_id:LIS-2027"])
    ] = None,
    limit: Annotated[int | None, Query(description="Page size")] = None,
    cursor: CursorParam = None,
) -> SessionPage:
    size = page_limit(limit, settings.page_size_default, settings.page_size_max)
    query = session_rows(caller).where(Session.status.in_(_statuses(status_filter)))
    if session_type is not None:
        query = query.where(Session.session_type == session_type.value)
    if subject_id is not None:
        query = query.where(Session.subject_id == subject_id)
    if organization_id is not None:
        query = query.where(Session.organization_id == organization_id)
    if refs := _external_refs(external_ref):
        query = query.where(Session.external_refs.contains(refs))
    if cursor is not None:
        query = query.where(tuple_(Session.last_activity_at, Session.id) < tuple_(*decode_keyset_cursor(cursor)))
    query = query.order_by(Session.last_activity_at.desc(), Session.id.desc()).limit(size + 1)
    rows = (await db.execute(query)).all()
    items = [to_session_out(r.Session, r.message_count, r.unread_count) for r in rows[:size]]
    last = items[-1] if len(rows) > size else None
    return SessionPage(items=items, next_cursor=encode_cursor(last.last_activity_at, last.id) if last else None)


@router.get("/{session_id}", response_model=SessionOut, responses=problem_responses(401, 404, 422))
async def get_session(session_id: uuid.UUID, db: DB, caller: CurrentCaller) -> SessionOut:
    return await load_session_out(db, caller, session_id)


@router.patch(
    "/{session_id}",
    response_model=SessionOut,
    responses=problem_responses(400, 401, 404, 409, 413, 422),
    summary="Edit title, triage fields or status (valid transitions only)",
)
async def patch_session(session_id: uuid.UUID, body: SessionPatch, db: DB, caller: CurrentCaller) -> SessionOut:
    session = await lock_session(db, caller, session_id)
    reject_archived(session.status)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"evidence_items"})
    if "evidence_items" in body.model_fields_set:
        items = body.evidence_items
        changes["evidence_items"] = [item.model_dump() for item in items] if items is not None else []
    if "status" in changes:
        target = changes["status"]
        if target is None:
            raise ProblemError(422, "validation-error", "status cannot be null", field="status")
        if target == SessionStatus.ARCHIVED:
            raise ProblemError(409, "invalid-transition", "archive with POST /sessions/{id}/archive", field="status")
        check_transition(session.status, target)
        changes["status"] = target.value
    for name, value in changes.items():
        setattr(session, name, value)
    await db.commit()
    return await load_session_out(db, caller, session_id)


@router.post("/{session_id}/archive", response_model=SessionOut, responses=problem_responses(401, 404, 422, 503))
async def archive_session(session_id: uuid.UUID, db: DB, caller: CurrentCaller, temporal: Temporal) -> SessionOut:
    """Hides the session and its chats from lists and stops its sandbox once no turn runs; history is kept.
    Idempotent."""
    session = await lock_session(db, caller, session_id)
    if session.status != SessionStatus.ARCHIVED:
        session.status_before_archive = session.status
        session.status = SessionStatus.ARCHIVED.value
    if session.sandbox_state not in (None, SandboxState.STOPPED):
        # Told before the commit: if Temporal cannot be reached the archive fails whole and can be retried.
        await signal_sandbox(await temporal.client(), str(session_id), SESSION_ARCHIVED_SIGNAL)
    await db.commit()
    return await load_session_out(db, caller, session_id)


@router.post("/{session_id}/unarchive", response_model=SessionOut, responses=problem_responses(401, 404, 422))
async def unarchive_session(session_id: uuid.UUID, db: DB, caller: CurrentCaller) -> SessionOut:
    """Restores the status the session had; its sandbox comes back from its snapshot on the next turn."""
    session = await lock_session(db, caller, session_id)
    if session.status == SessionStatus.ARCHIVED:
        session.status = session.status_before_archive or SessionStatus.ACTIVE.value
        session.status_before_archive = None
    await db.commit()
    return await load_session_out(db, caller, session_id)
