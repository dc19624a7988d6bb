"""Everything a send does in PostgreSQL before its workflow starts, in one transaction: the chat (and
session) on first use, the user message, the turn row, the assistant placeholder and the active-turn slot."""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.dependencies import Caller
from api.limits import check_turn_limits
from api.ownership import visible_chats, visible_sessions
from api.problems import ProblemError, not_found
from api.session_queries import reject_archived
from api.tracing import trace_metadata
from models.chat_turn_schemas import ChatTurnRequest, UIMessageIn
from models.enums import MessageRole, MessageStatus, TurnStatus
from models.pricing import PRICES
from models.settings import Settings
from models.tables import Chat, ChatMessage, Session, Turn
from models.turns import turn_workflow_id
from turnlog import chunks
from turnlog.append import append_chunks

_ALPHABET = string.ascii_letters + string.digits


def new_message_id() -> str:
    return "msg_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


@dataclass(frozen=True)
class StartedTurn:
    turn_id: uuid.UUID
    workflow_id: str
    chat_id: str
    session_id: uuid.UUID
    model: str
    queued: bool
    # The same send was already accepted: stream that turn, start nothing.
    existing: bool = False
    # (turn id, workflow id) of the running turn this send interrupts.
    interrupted: tuple[str, str] | None = None


async def _lock_or_create_chat(db: AsyncSession, caller: Caller, body: ChatTurnRequest) -> Chat:
    """Locks only a chat the caller may see: another account's (or, through a browser token, another end user's)
    chat id answers 404 like an unknown one, and its row is never locked, so its owner's sends never wait."""
    if caller.chat_scope is not None and body.id != caller.chat_scope:
        raise not_found("chat", body.id, "id")  # a token for one chat starts no other
    session_id = body.session_id or caller.session_scope
    owned = select(Chat).where(Chat.id == body.id, visible_chats(caller)).with_for_update(key_share=True)
    chat = await db.scalar(owned)
    if chat is None:
        if await db.scalar(select(Chat.account_id).where(Chat.id == body.id)) is not None:
            raise not_found("chat", body.id, "id")
        if session_id is not None:
            session = await db.scalar(select(Session).where(Session.id == session_id, visible_sessions(caller)))
            if session is None:
                raise not_found("session", session_id, "sessionId")
        else:
            session = Session(account_id=caller.account_id, subject_id=body.subject_id, owner_subject=caller.subject)
            db.add(session)
            await db.flush()
        await db.execute(
            insert(Chat)
            .values(id=body.id, session_id=session.id, account_id=caller.account_id, model_id=body.model)
            .on_conflict_do_nothing(index_elements=[Chat.id])
        )
        chat = await db.scalar(owned)
        if chat is None:  # another account took the id meanwhile
            raise not_found("chat", body.id, "id")
    if body.session_id is not None and body.session_id != chat.session_id:
        raise ProblemError(409, "chat-in-other-session", "this chat belongs to another session", field="sessionId")
    return chat


async def _next_seq(db: AsyncSession, chat: Chat) -> int:
    seq = await db.scalar(
        update(Chat)
        .where(Chat.id == chat.id)
        .values(last_seq=Chat.last_seq + 1, last_message_at=func.now(), updated_at=func.now())
        .returning(Chat.last_seq)
    )
    assert seq is not None
    return int(seq)


def _new_user_message(body: ChatTurnRequest) -> UIMessageIn:
    last = body.messages[-1]
    field = f"messages.{len(body.messages) - 1}"
    if last.role != MessageRole.USER:
        raise ProblemError(422, "validation-error", "the last message must be the user's new message", field=field)
    if not any(p.get("type") == "text" and isinstance(p.get("text"), str) and p["text"].strip() for p in last.parts):
        raise ProblemError(422, "validation-error", "the new message has no text", field=f"{field}.parts")
    return last


async def start_turn(db: AsyncSession, caller: Caller, body: ChatTurnRequest, settings: Settings) -> StartedTurn:
    """Commits the send or raises a problem; nothing is half-written either way. Locks the chat, then its session
    (the order of turnlog/lock_order.py)."""
    chat = await _lock_or_create_chat(db, caller, body)
    session = await db.get(Session, chat.session_id, with_for_update={"key_share": True})
    assert session is not None
    reject_archived(session.status, field="sessionId")
    if body.model is not None and body.model != chat.model_id:
        chat.model_id = body.model
    model = chat.model_id or settings.default_model()
    if model not in PRICES:  # a chat created before its model was withdrawn from the price list
        raise ProblemError(422, "unknown-model", f"model {model!r} is not offered; send another `model`", field="model")

    user_message: UIMessageIn | None = None
    edited: ChatMessage | None = None
    if body.trigger == "submit-message":
        user_message = _new_user_message(body)
        edited = await db.scalar(
            select(ChatMessage).where(ChatMessage.chat_id == chat.id, ChatMessage.id == user_message.id)
        )
        if edited is not None and edited.parts == user_message.parts:
            repeat = await db.scalar(
                select(Turn)
                .where(Turn.chat_id == chat.id, Turn.user_message_id == user_message.id)
                .order_by(Turn.number.desc())
                .limit(1)
            )
            if repeat is not None:  # the same send again: stream the turn it started
                await db.commit()  # an early return ends its transaction too: the chat row stays locked otherwise
                return StartedTurn(
                    repeat.id, repeat.workflow_id, chat.id, chat.session_id, repeat.model_id or model, False, True
                )
        if edited is not None and edited.role != MessageRole.USER:
            raise ProblemError(422, "validation-error", "only the user's messages can be edited", field="messageId")
        if edited is not None and body.message_id != edited.id:
            raise ProblemError(
                409,
                "message-exists",
                f"message {edited.id!r} is already in this chat; to edit it, send it with messageId {edited.id!r}",
                field="messages",
            )

    active = await db.get(Turn, chat.active_turn_id) if chat.active_turn_id else None
    rewrites = body.trigger == "regenerate-message" or edited is not None
    if active is not None and (body.multitask_strategy == "reject" or rewrites):
        raise ProblemError(
            409,
            "turn-active",
            f"turn {active.id} is still running; stop it, or send with multitaskStrategy enqueue or interrupt",
            field="id",
        )

    await check_turn_limits(db, session, queued=active is not None, settings=settings)
    number = (
        int(await db.scalar(select(func.coalesce(func.max(Turn.number), 0)).where(Turn.chat_id == chat.id)) or 0) + 1
    )
    turn = Turn(
        chat_id=chat.id,
        session_id=chat.session_id,
        account_id=caller.account_id,
        number=number,
        workflow_id=turn_workflow_id(chat.id, number),
        status=TurnStatus.QUEUED.value,
        trigger=body.trigger,
        model_id=model,
    )
    db.add(turn)
    await db.flush()

    if user_message is not None:
        if edited is not None:
            await _edit_user_message(db, chat, edited, user_message)
            turn.user_message_id = edited.id
        else:
            await _insert_user_message(db, chat, user_message, turn)
        assistant_id = new_message_id()
        db.add(
            ChatMessage(
                chat_id=chat.id,
                id=assistant_id,
                seq=await _next_seq(db, chat),
                role=MessageRole.ASSISTANT.value,
                parts=[],
                status=MessageStatus.STREAMING.value,
                turn_id=turn.id,
            )
        )
    else:
        assistant_id = await _reset_last_assistant(db, chat, body, turn)
    turn.assistant_message_id = assistant_id
    await db.flush()
    # The log opens with `start`, so an AI SDK resume that replays from seq 1 rebuilds the message from empty.
    await append_chunks(
        await db.connection(), turn.id, [chunks.start(assistant_id, {"turnId": str(turn.id), **trace_metadata()})]
    )
    if active is None:
        chat.active_turn_id = turn.id
    session.last_activity_at = func.now()
    await db.commit()
    return StartedTurn(
        turn.id,
        turn.workflow_id,
        chat.id,
        chat.session_id,
        model,
        queued=active is not None,
        interrupted=(str(active.id), active.workflow_id)
        if active is not None and body.multitask_strategy == "interrupt"
        else None,
    )


async def _insert_user_message(db: AsyncSession, chat: Chat, message: UIMessageIn, turn: Turn) -> None:
    """A message id the chat does not have yet (looked up, under the chat's lock, before the turn was made)."""
    db.add(
        ChatMessage(
            chat_id=chat.id,
            id=message.id,
            seq=await _next_seq(db, chat),
            role=MessageRole.USER.value,
            parts=message.parts,
            message_metadata=message.metadata,
            turn_id=turn.id,
        )
    )
    turn.user_message_id = message.id


async def _edit_user_message(db: AsyncSession, chat: Chat, stored: ChatMessage, edit: UIMessageIn) -> None:
    """An AI SDK edit (sendMessage with the id of an earlier message): the message takes the new text and everything
    after it goes, as it does in the client, so the new turn answers the edited conversation."""
    await db.execute(delete(ChatMessage).where(ChatMessage.chat_id == chat.id, ChatMessage.seq > stored.seq))
    stored.parts, stored.message_metadata, stored.updated_at = edit.parts, edit.metadata, func.now()


async def _reset_last_assistant(db: AsyncSession, chat: Chat, body: ChatTurnRequest, turn: Turn) -> str:
    """Regenerate: the chat's last message, an assistant answer, is emptied and answered again in place."""
    last = await db.scalar(
        select(ChatMessage).where(ChatMessage.chat_id == chat.id).order_by(ChatMessage.seq.desc()).limit(1)
    )
    if last is None or last.role != MessageRole.ASSISTANT:
        raise ProblemError(422, "nothing-to-regenerate", "the chat does not end with an answer", field="trigger")
    if body.message_id is not None and body.message_id != last.id:
        raise ProblemError(422, "nothing-to-regenerate", "only the last answer can be regenerated", field="messageId")
    last.parts, last.status, last.turn_id, last.updated_at = [], MessageStatus.STREAMING.value, turn.id, func.now()
    turn.user_message_id = await db.scalar(
        select(ChatMessage.id)
        .where(ChatMessage.chat_id == chat.id, ChatMessage.role == MessageRole.USER.value)
        .order_by(ChatMessage.seq.desc())
        .limit(1)
    )
    return last.id
