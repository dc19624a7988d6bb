"""`turnflow digest` as an operator runs it: a real process, a real database, a local webhook."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import Account, UsageEvent
from tests.webhook import WebhookRecorder, serve_webhook


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Spender:
    """An account that spent far more in the last minute than turns do, so every digest lists it among the top."""

    account: str
    model: str


@pytest.fixture
async def spender(db_sessions: async_sessionmaker[AsyncSession]) -> Spender:
    seeded = Spender(account=f"cli-digest-{uuid.uuid4().hex[:8]}", model=f"claude-cli-{uuid.uuid4().hex[:8]}")
    async with db_sessions.begin() as db:
        account = Account(name=seeded.account)
        db.add(account)
        await db.flush()
        await db.execute(
            insert(UsageEvent).values(
                dedupe_key=f"cli-digest:{uuid.uuid4()}",
                account_id=account.id,
                model=seeded.model,
                input_tokens=1234,
                output_tokens=56,
                cost_usd=Decimal("5000.000000"),
                created_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
    return seeded


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookRecorder]:
    async with serve_webhook() as recorder:
        yield recorder


async def _digest(database_url: str, data_dir: Path, *args: str, **settings: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURNFLOW_DIGEST_")}
    env |= {"TURNFLOW_DATABASE_URL": database_url, "TURNFLOW_DATA_DIR": str(data_dir)}
    env |= {f"TURNFLOW_DIGEST_{name.upper()}": value for name, value in settings.items()}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "turnflow.cli",
        "digest",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def test_dry_run_prints_the_json_and_posts_nothing(
    database_url: str, tmp_path: Path, spender: Spender, webhook: WebhookRecorder
) -> None:
    run = await _digest(database_url, tmp_path, "--dry-run", "--minutes", "5", webhook_url=webhook.url)
    assert run.code == 0, run.err
    body = json.loads(run.out)
    assert spender.account in [a["accountName"] for a in body["topAccounts"]]
    assert spender.model in [m["model"] for m in body["models"]]
    assert body["text"].startswith("turnflow spend ")
    assert datetime.fromisoformat(body["windowEnd"]) - datetime.fromisoformat(body["windowStart"]) == timedelta(
        minutes=5
    )
    assert "nothing was posted" in run.err
    assert webhook.received == []


async def test_dry_run_in_telegram_format(
    database_url: str, tmp_path: Path, spender: Spender, webhook: WebhookRecorder
) -> None:
    run = await _digest(database_url, tmp_path, "--dry-run", webhook_url=webhook.url, telegram_chat_id="42")
    assert run.code == 0, run.err
    body = json.loads(run.out)
    assert set(body) == {"chat_id", "text"}
    assert body["chat_id"] == "42"
    assert f"• {spender.account}: $5,000.0000" in body["text"]
    assert "Telegram chat 42" in run.err
    assert webhook.received == []


async def test_posts_once_now(database_url: str, tmp_path: Path, spender: Spender, webhook: WebhookRecorder) -> None:
    run = await _digest(database_url, tmp_path, "--minutes", "5", webhook_url=webhook.url)
    assert run.code == 0, run.err
    assert run.out.startswith("posted the digest of ")
    assert len(webhook.received) == 1
    body = webhook.received[0].body
    assert spender.account in [a["accountName"] for a in body["topAccounts"]]
    assert spender.model in [m["model"] for m in body["models"]]


async def test_posting_without_a_webhook_is_a_one_line_error(database_url: str, tmp_path: Path) -> None:
    run = await _digest(database_url, tmp_path)
    assert run.code == 1
    assert run.out == ""
    assert run.err.strip().splitlines() == [
        "turnflow: no digest webhook: set TURNFLOW_DIGEST_WEBHOOK_URL (and TURNFLOW_DIGEST_TELEGRAM_CHAT_ID for "
        "Telegram), or pass --dry-run"
    ]


async def test_a_refusing_webhook_is_a_one_line_error(
    database_url: str, tmp_path: Path, spender: Spender, webhook: WebhookRecorder
) -> None:
    webhook.failures.append(500)
    run = await _digest(database_url, tmp_path, webhook_url=webhook.url)
    assert run.code == 1
    assert run.err.strip().splitlines() == ["turnflow: the digest webhook answered 500"]
