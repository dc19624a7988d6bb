"""Chats inside sessions, their messages, and per-reader read cursors."""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import ColumnElement, and_, exists, func, select, true, tuple_
from sqlalchemy.dialects.postgresql import insert

from api.chat_queries import chat_rows, load_chat_row, row_fields
from api.dependencies import DB, AppSettings, CurrentCaller
from api.ownership import visible_chats
from api.pagination import MAX_SEQ, CursorParam, decode_cursor, encode_cursor, page_limit
from api.problems import ProblemError, not_found, problem_responses
from api.questions import pending_question
from api.session_queries import lock_session, reject_archived
from models.chat_schemas import (
    ChatCreate,
    ChatOut,
    ChatPage,
    ChatPatch,
    ChatRow,
    MessageOut,
    MessagePage,
    ReadMark,
    ReadState,
)
from models.enums import MessageStatus, SessionStatus
from models.tables import Chat, ChatMessage, ChatRead, Session

router = APIRouter(tags=["chats"])

ChatId = Annotated[str, Path(max_length=128, description="The chat id")]
_ID_ALPHABET = string.ascii_letters + string.digits


def new_chat_id() -> str:
    """16 alphanumerics, the shape of AI SDK chat ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


@router.post(
    "/sessions/{session_id}/chats",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatOut,
    responses={
        200: {"description": "The chat already existed (same id, same session)", "model": ChatOut},
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
    summary="Create a chat in a session (idempotent on a client-supplied id)",
)
async def create_chat(
    session_id: uuid.UUID, body: ChatCreate, response: Response, db: DB, caller: CurrentCaller
) -> ChatOut:
    if caller.chat_scope is not None:
        raise ProblemError(403, "token-scope", "this browser token is limited to one chat")
    session = await lock_session(db, caller, session_id)
    reject_archived(session.status)
    chat_id = body.id or new_chat_id()
    inserted = await db.scalar(
        insert(Chat)
        .values(
            id=chat_id, session_id=session_id, account_id=caller.account_id, title=body.title, model_id=body.model_id
        )
        .on_conflict_do_nothing(index_elements=[Chat.id])
        .returning(Chat.id)
    )
    if inserted is None:
        existing = await db.get(Chat, chat_id)
        if existing is None or existing.account_id != caller.account_id or existing.session_id != session_id:
            raise ProblemError(409, "chat-id-taken", f"chat id {chat_id!r} is already in use", field="id")
        response.status_code = status.HTTP_200_OK
    await db.commit()
    return ChatOut(**row_fields(await load_chat_row(db, caller, chat_id)))


@router.get("/chats", response_model=ChatPage, responses=problem_responses(401, 422), summary="List chats")
async def list_chats(
    db: DB,
    caller: CurrentCaller,
    settings: AppSettings,
    session_id: uuid.UUID | None = None,
    subject_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: int | None = None,
    cursor: CursorParam = None,
) -> ChatPage:
    """Most recently updated first; chats of archived sessions never appear."""
    size = page_limit(limit, settings.page_size_default, settings.page_size_max)
    query = chat_rows(caller).where(Session.status != SessionStatus.ARCHIVED.value)
    if session_id is not None:
        query = query.where(Chat.session_id == session_id)
    if subject_id is not None:
        query = query.where(Session.subject_id == subject_id)
    if cursor is not None:
        at, after_id = decode_cursor(cursor)
        query = query.where(tuple_(Chat.updated_at, Chat.id) < tuple_(at, after_id))
    rows = (await db.execute(query.order_by(Chat.updated_at.desc(), Chat.id.desc()).limit(size + 1))).all()
    items = [ChatRow(**{k: v for k, v in row_fields(r).items() if k in ChatRow.model_fields}) for r in rows[:size]]
    last = items[-1] if len(rows) > size else None
    return ChatPage(items=items, next_cursor=encode_cursor(last.updated_at, last.id) if last else None)


@router.get("/chats/{chat_id}", response_model=ChatOut, responses=problem_responses(401, 404, 422))
async def get_chat(chat_id: ChatId, db: DB, caller: CurrentCaller) -> ChatOut:
    row = await load_chat_row(db, caller, chat_id)
    active = row.Chat.active_turn_id
    question = await pending_question(db, active) if active is not None else None
    return ChatOut(
        **row_fields(row), pending_question=question.model_dump(by_alias=True, mode="json") if question else None
    )


@router.patch("/chats/{chat_id}", response_model=ChatOut, responses=problem_responses(400, 401, 404, 413, 422))
async def rename_chat(chat_id: ChatId, body: ChatPatch, db: DB, caller: CurrentCaller) -> ChatOut:
    chat = await db.scalar(select(Chat).where(Chat.id == chat_id, visible_chats(caller)))
    if chat is None:
        raise not_found("chat", chat_id, "chat_id")
    chat.title = body.title
    await db.commit()
    return ChatOut(**row_fields(await load_chat_row(db, caller, chat_id)))


@router.get(
    "/chats/{chat_id}/messages",
    response_model=MessagePage,
    responses=problem_responses(401, 404, 422),
    summary="Page through a chat's messages in either direction",
)
async def list_messages(
    chat_id: ChatId,
    db: DB,
    caller: CurrentCaller,
    settings: AppSettings,
    before: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Messages with seq below this, newest page first")
    ] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_SEQ, description="Messages with seq above this")] = None,
    limit: int | None = None,
    include_streaming: Annotated[
        bool,
        Query(
            description="Include the answer of a turn still running. Off by default: an AI SDK client loads the "
            "history without it and rebuilds it by resuming the stream (GET /chat/workflow/{chatId}/stream)."
        ),
    ] = False,
) -> MessagePage:
    """Without `before` or `after`: the latest page. Items are always oldest first."""
    if before is not None and after is not None:
        raise ProblemError(422, "validation-error", "send `before` or `after`, not both", field="before")
    size = page_limit(limit, settings.page_size_default, settings.page_size_max)
    await load_chat_row(db, caller, chat_id)
    visible = true() if include_streaming else ChatMessage.status != MessageStatus.STREAMING.value
    base = select(ChatMessage).where(ChatMessage.chat_id == chat_id, visible)
    if after is not None:
        rows = list(
            (await db.scalars(base.where(ChatMessage.seq > after).order_by(ChatMessage.seq).limit(size + 1))).all()
        )
        page = rows[:size]
        more_before, more_after = (
            await _any_message(db, chat_id, and_(visible, ChatMessage.seq <= after)),
            len(rows) > size,
        )
    else:
        query = base if before is None else base.where(ChatMessage.seq < before)
        rows = list((await db.scalars(query.order_by(ChatMessage.seq.desc()).limit(size + 1))).all())
        page = rows[:size][::-1]
        more_after = before is not None and await _any_message(db, chat_id, and_(visible, ChatMessage.seq >= before))
        more_before = len(rows) > size
    items = [
        MessageOut(
            id=m.id,
            role=m.role,
            parts=m.parts,
            metadata=m.message_metadata,
            seq=m.seq,
            status=m.status,
            created_at=m.created_at,
        )
        for m in page
    ]
    return MessagePage(items=items, has_more_before=more_before, has_more_after=more_after)


async def _any_message(db: DB, chat_id: str, condition: ColumnElement[bool]) -> bool:
    return bool(await db.scalar(select(exists().where(ChatMessage.chat_id == chat_id, condition))))


@router.post(
    "/chats/{chat_id}/read",
    response_model=ReadState,
    responses=problem_responses(400, 401, 404, 413, 422),
    summary="Move the reader's read cursor forward (never back)",
)
async def mark_read(chat_id: ChatId, body: ReadMark, db: DB, caller: CurrentCaller) -> ReadState:
    row = await load_chat_row(db, caller, chat_id)
    chat: Chat = row.Chat
    target = chat.last_seq if body.seq is None else min(body.seq, chat.last_seq)
    stmt = insert(ChatRead).values(chat_id=chat_id, reader_id=caller.reader_id, last_read_seq=target)
    await db.execute(
        stmt.on_conflict_do_update(
            index_elements=[ChatRead.chat_id, ChatRead.reader_id],
            set_={
                "last_read_seq": func.greatest(ChatRead.last_read_seq, stmt.excluded.last_read_seq),
                "updated_at": func.now(),
            },
        )
    )
    await db.commit()
    fresh = await load_chat_row(db, caller, chat_id)
    return ReadState(last_read_seq=fresh.last_read_seq, unread_count=fresh.unread_count)
