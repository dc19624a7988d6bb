"""The spend digest run as a real workflow on the dev server, posting to a local webhook that records requests."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.spend_digest import TELEGRAM_TEXT_LIMIT, TRIMMED, SpendDigestActivities
from models.digest import SpendDigestInput, SpendDigestResult
from models.names import DIGEST_SCHEDULE_ID
from models.settings import Settings
from models.tables import Account, UsageEvent
from tests.polling import wait_until
from tests.replay import assert_replays
from tests.webhook import WebhookRecorder, serve_webhook
from turnflow.schedules import ensure_digest_schedule
from workflows.spend_digest import SpendDigestWorkflow


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookRecorder]:
    async with serve_webhook() as recorder:
        yield recorder


def _utf16_units(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


async def _account(db: AsyncSession, name: str) -> uuid.UUID:
    account = Account(name=name)
    db.add(account)
    await db.flush()
    return account.id


def _event(account_id: uuid.UUID, at: datetime, model: str, agent_type: str, tokens: int, cost: str) -> dict[str, Any]:
    return {
        "dedupe_key": f"digest-test:{uuid.uuid4()}",
        "turn_id": None,
        "account_id": account_id,
        "model": model,
        "agent_type": agent_type,
        "input_tokens": tokens,
        "output_tokens": tokens // 10,
        "cache_write_tokens": 0,
        "cache_read_tokens": tokens * 2,
        "cost_usd": Decimal(cost),
        "created_at": at,
    }


@dataclass(frozen=True)
class Seeded:
    end: datetime
    big: str
    small: str


async def _seed_window(db_sessions: async_sessionmaker[AsyncSession], end: datetime) -> Seeded:
    """Two accounts inside [end - 10 min, end), and rows just outside it on both sides that must not count.
    Each test uses its own window in the past, where no other test writes."""
    start = end - timedelta(minutes=10)
    big, small = f"big-{uuid.uuid4().hex[:8]}", f"small-{uuid.uuid4().hex[:8]}"
    async with db_sessions.begin() as db:
        big_id, small_id = await _account(db, big), await _account(db, small)
        await db.execute(
            insert(UsageEvent),
            [
                _event(big_id, start, "claude-sonnet-4-6", "main", 1000, "1.500000"),
                _event(big_id, start + timedelta(minutes=5), "claude-sonnet-4-6", "subagent", 2000, "2.000000"),
                _event(small_id, end - timedelta(microseconds=1), "claude-haiku-4-5", "main", 100, "0.250000"),
                _event(small_id, start - timedelta(microseconds=1), "claude-opus-4-1", "main", 9999, "99.000000"),
                _event(big_id, end, "claude-opus-4-1", "main", 9999, "99.000000"),
            ],
        )
    return Seeded(end=end, big=big, small=small)


@asynccontextmanager
async def _digest_worker(client: Client, engine: AsyncEngine, settings: Settings) -> AsyncIterator[str]:
    """A worker with just the digest, on a task queue of its own; yields the task queue."""
    task_queue = f"digest-{uuid.uuid4().hex[:6]}"
    activities = SpendDigestActivities(engine, settings)
    async with Worker(
        client, task_queue=task_queue, workflows=[SpendDigestWorkflow], activities=[activities.post_spend_digest]
    ):
        yield task_queue


async def _run_digest(client: Client, task_queue: str, end: datetime) -> tuple[str, SpendDigestResult]:
    workflow_id = f"digest-test-{uuid.uuid4().hex[:8]}"
    result = await client.execute_workflow(
        SpendDigestWorkflow.run,
        SpendDigestInput(interval_minutes=10, window_end=end),
        id=workflow_id,
        task_queue=task_queue,
    )
    return workflow_id, result


def _settings(settings: Settings, webhook: WebhookRecorder, telegram_chat: str | None = None) -> Settings:
    return settings.model_copy(
        update={"digest_webhook_url": f"{webhook.url}/hook", "digest_telegram_chat_id": telegram_chat}
    )


async def test_json_digest_of_the_window(
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    db_sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    webhook: WebhookRecorder,
) -> None:
    seeded = await _seed_window(db_sessions, datetime(2001, 2, 3, 10, 10, tzinfo=UTC))
    async with _digest_worker(temporal_env.client, engine, _settings(settings, webhook)) as task_queue:
        workflow_id, result = await _run_digest(temporal_env.client, task_queue, seeded.end)

    assert result == SpendDigestResult(
        window_start=datetime(2001, 2, 3, 10, 0, tzinfo=UTC),
        window_end=seeded.end,
        calls=3,
        turns=0,
        cost_usd="3.750000",
        posted=True,
    )
    assert [r.path for r in webhook.received] == ["/hook"]
    body = webhook.received[0].body
    assert body["digestId"] == "2001-02-03T10:00:00+00:00/2001-02-03T10:10:00+00:00"
    assert body["windowStart"] == "2001-02-03T10:00:00Z"
    assert body["totals"] == {
        "calls": 3,
        "turns": 0,
        "inputTokens": 3100,
        "outputTokens": 310,
        "cacheWriteTokens": 0,
        "cacheReadTokens": 6200,
        "costUsd": "3.750000",
    }
    assert [(a["accountName"], a["costUsd"], a["calls"]) for a in body["topAccounts"]] == [
        (seeded.big, "3.500000", 2),
        (seeded.small, "0.250000", 1),
    ]
    assert [(m["model"], m["costUsd"]) for m in body["models"]] == [
        ("claude-sonnet-4-6", "3.500000"),
        ("claude-haiku-4-5", "0.250000"),
    ]
    assert [(t["agentType"], t["costUsd"]) for t in body["agentTypes"]] == [
        ("subagent", "2.000000"),
        ("main", "1.750000"),
    ]
    text = body["text"]
    assert text.splitlines()[:3] == [
        "turnflow spend 2001-02-03 10:00 to 10:10 UTC",
        "$3.7500 · 0 turns · 3 calls",
        "tokens: 3,100 in · 310 out · 0 cache write · 6,200 cache read",
    ]
    assert f"• {seeded.big}: $3.5000 · 0 turns · 2 calls · 3,000 in / 300 out" in text
    assert "claude-opus-4-1" not in text
    await assert_replays(temporal_env.client, [workflow_id], [SpendDigestWorkflow])


async def test_telegram_digest_and_a_webhook_that_fails_once(
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    db_sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    webhook: WebhookRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    seeded = await _seed_window(db_sessions, datetime(2001, 2, 3, 11, 10, tzinfo=UTC))
    webhook.failures.append(502)
    telegram = settings.model_copy(
        update={"digest_webhook_url": f"{webhook.url}/bot123:bot-secret", "digest_telegram_chat_id": "-1001234"}
    )
    async with _digest_worker(temporal_env.client, engine, telegram) as task_queue:
        workflow_id, result = await _run_digest(temporal_env.client, task_queue, seeded.end)

    assert result.posted
    # The 502 failed the first attempt; Temporal's retry posted the same message again.
    assert [r.path for r in webhook.received] == ["/bot123:bot-secret/sendMessage"] * 2
    assert webhook.received[0].body == webhook.received[1].body
    body = webhook.received[1].body
    assert set(body) == {"chat_id", "text"}
    assert body["chat_id"] == "-1001234"
    assert body["text"].startswith("turnflow spend 2001-02-03 11:00 to 11:10 UTC\n$3.7500")
    assert seeded.small in body["text"]
    assert "/bot<token>/sendMessage" in caplog.text
    assert "bot-secret" not in caplog.text
    await assert_replays(temporal_env.client, [workflow_id], [SpendDigestWorkflow])


async def test_telegram_text_is_trimmed_to_the_limit(
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    db_sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    webhook: WebhookRecorder,
) -> None:
    """Names of emoji: under 4096 characters in Python, over 4096 UTF-16 units, which is what Telegram counts."""
    end = datetime(2001, 2, 3, 12, 10, tzinfo=UTC)
    async with db_sessions.begin() as db:
        for n in range(6):
            account_id = await _account(db, f"{n}-{uuid.uuid4().hex[:6]}-" + "\N{SLIGHTLY SMILING FACE}" * 500)
            await db.execute(insert(UsageEvent), [_event(account_id, end - timedelta(minutes=1), "m", "main", 1, "1")])
    async with _digest_worker(temporal_env.client, engine, _settings(settings, webhook)) as task_queue:
        await _run_digest(temporal_env.client, task_queue, end)
    async with _digest_worker(temporal_env.client, engine, _settings(settings, webhook, "42")) as task_queue:
        await _run_digest(temporal_env.client, task_queue, end)

    full, trimmed = webhook.received[0].body["text"], webhook.received[1].body["text"]
    assert len(full) < TELEGRAM_TEXT_LIMIT < _utf16_units(full)
    assert _utf16_units(trimmed) <= TELEGRAM_TEXT_LIMIT
    assert trimmed.endswith("\n" + TRIMMED)
    kept = trimmed.removesuffix("\n" + TRIMMED)
    assert full.startswith(kept + "\n")  # cut at a line end


async def test_empty_window_or_no_webhook_posts_nothing(
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    db_sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    webhook: WebhookRecorder,
) -> None:
    seeded = await _seed_window(db_sessions, datetime(2001, 2, 3, 13, 10, tzinfo=UTC))
    ids = []
    async with _digest_worker(temporal_env.client, engine, _settings(settings, webhook)) as task_queue:
        workflow_id, empty = await _run_digest(temporal_env.client, task_queue, datetime(1999, 1, 1, tzinfo=UTC))
        ids.append(workflow_id)
    async with _digest_worker(temporal_env.client, engine, settings) as task_queue:
        workflow_id, unconfigured = await _run_digest(temporal_env.client, task_queue, seeded.end)
        ids.append(workflow_id)

    assert (empty.calls, empty.cost_usd, empty.posted) == (0, "0", False)
    assert (unconfigured.calls, unconfigured.posted) == (3, False)
    assert webhook.received == []
    await assert_replays(temporal_env.client, ids, [SpendDigestWorkflow])


async def test_a_scheduled_run_ends_its_window_at_the_scheduled_time(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, settings: Settings
) -> None:
    client = temporal_env.client
    async with _digest_worker(client, engine, settings) as task_queue:
        schedule = await client.create_schedule(
            f"digest-test-{uuid.uuid4().hex[:8]}",
            Schedule(
                action=ScheduleActionStartWorkflow(
                    SpendDigestWorkflow.run,
                    SpendDigestInput(interval_minutes=7),
                    id=f"digest-scheduled-{uuid.uuid4().hex[:8]}",
                    task_queue=task_queue,
                ),
                spec=ScheduleSpec(),
                state=ScheduleState(paused=True),
            ),
        )
        try:
            await schedule.trigger()

            async def started() -> bool:
                return bool((await schedule.describe()).info.recent_actions)

            await wait_until(started, "the triggered digest run")
            action = (await schedule.describe()).info.recent_actions[0]
            assert isinstance(action.action, ScheduleActionExecutionStartWorkflow)
            handle = client.get_workflow_handle(
                action.action.workflow_id, run_id=action.action.first_execution_run_id, result_type=SpendDigestResult
            )
            result = await handle.result()
        finally:
            await schedule.delete()

    # Temporal keeps the scheduled time in whole seconds (an interval's times are whole minutes anyway), which
    # also tells it apart from the run's start time.
    scheduled = action.scheduled_at.replace(microsecond=0)
    assert (result.window_start, result.window_end) == (scheduled - timedelta(minutes=7), scheduled)
    await assert_replays(client, [action.action.workflow_id], [SpendDigestWorkflow])


async def test_ensure_digest_schedule_creates_then_retimes_keeping_a_pause(temporal_env: WorkflowEnvironment) -> None:
    client = temporal_env.client
    # Twice-daily and daily: neither fires while the test runs.
    await ensure_digest_schedule(client, task_queue="digest-schedule-test", interval_minutes=720)
    schedule = client.get_schedule_handle(DIGEST_SCHEDULE_ID)
    try:
        await ensure_digest_schedule(client, task_queue="digest-schedule-test", interval_minutes=720)
        described = await schedule.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=12)]
        await schedule.pause(note="operator pause")

        await ensure_digest_schedule(client, task_queue="digest-schedule-test", interval_minutes=1440)
        described = await schedule.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(days=1)]
        assert described.schedule.state.paused
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "SpendDigest"
        [arg] = action.args
        decoded = await client.data_converter.decode([arg], [SpendDigestInput])
        assert decoded == [SpendDigestInput(interval_minutes=1440)]
    finally:
        await schedule.delete()
