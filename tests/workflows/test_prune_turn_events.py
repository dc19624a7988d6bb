"""Stream-log retention, run as a real workflow on the dev server against real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.stop_listener import StopListener
from activities.worker_presence import WorkerPresence
from models.database import asyncpg_dsn
from models.retention import PruneTurnEventsInput
from models.settings import Settings
from models.tables import Chat, Session, Turn, TurnEvent
from tests.conftest import Tenant
from tests.replay import assert_replays
from worker import build_worker
from workflows.prune_turn_events import PruneTurnEventsWorkflow


async def _turn_with_events(
    db: AsyncSession, chat: Chat, number: int, finished_ago: timedelta | None, events: int
) -> uuid.UUID:
    turn = Turn(
        chat_id=chat.id,
        session_id=chat.session_id,
        account_id=chat.account_id,
        number=number,
        workflow_id=f"turn:{chat.id}:{number}",
        status="completed" if finished_ago is not None else "running",
        finished_at=func.now() - finished_ago if finished_ago is not None else None,
    )
    db.add(turn)
    await db.flush()
    db.add_all(TurnEvent(turn_id=turn.id, seq=seq, payload={"type": "start-step"}) for seq in range(1, events + 1))
    return turn.id


async def test_prunes_only_long_finished_turns(
    temporal_env: WorkflowEnvironment,
    db_sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    settings: Settings,
    stops: StopListener,
    tenant: Tenant,
    database_url: str,
) -> None:
    async with db_sessions.begin() as db:
        session = Session(account_id=tenant.account_id)
        db.add(session)
        await db.flush()
        chat = Chat(id=f"prune{uuid.uuid4().hex[:8]}", session_id=session.id, account_id=tenant.account_id)
        db.add(chat)
        await db.flush()
        old = await _turn_with_events(db, chat, 1, timedelta(hours=48), events=7)
        recent = await _turn_with_events(db, chat, 2, timedelta(hours=1), events=3)
        running = await _turn_with_events(db, chat, 3, None, events=2)

    task_queue = f"prune-{uuid.uuid4().hex[:6]}"
    workflow_id = f"prune-test-{uuid.uuid4().hex[:6]}"
    presence = WorkerPresence(asyncpg_dsn(database_url), temporal_env.client, task_queue)
    queue_settings = settings.model_copy(update={"task_queue": task_queue})
    async with presence, build_worker(temporal_env.client, queue_settings, engine, stops, presence):
        result = await temporal_env.client.execute_workflow(
            PruneTurnEventsWorkflow.run,
            PruneTurnEventsInput(retention_hours=24, batch_size=3),
            id=workflow_id,
            task_queue=task_queue,
        )

    assert result.deleted_events >= 7  # other tests' long-finished turns may be pruned too
    async with db_sessions() as db:
        counts = dict(
            (
                await db.execute(
                    select(TurnEvent.turn_id, func.count())
                    .where(TurnEvent.turn_id.in_([old, recent, running]))
                    .group_by(TurnEvent.turn_id)
                )
            ).all()
        )
    assert counts == {recent: 3, running: 2}
    await assert_replays(temporal_env.client, [workflow_id], [PruneTurnEventsWorkflow])
