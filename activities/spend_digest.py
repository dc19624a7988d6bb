"""The spend digest: one window of the usage ledger summed in SQL and posted to Telegram or a JSON webhook."""

from __future__ import annotations

import logging
import re
from datetime import UTC
from typing import Any, TypeVar

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from temporalio import activity

from models.digest import (
    AccountSpend,
    AgentTypeSpend,
    DigestWindow,
    ModelSpend,
    SpendDigest,
    SpendDigestResult,
    SpendTotals,
)
from models.names import POST_SPEND_DIGEST
from models.settings import Settings

TOP_ACCOUNTS = 5
# Telegram's sendMessage limit, counted in UTF-16 code units.
TELEGRAM_TEXT_LIMIT = 4096
TRIMMED = "…(trimmed)"
_POST_TIMEOUT = httpx.Timeout(10.0)

_log = logging.getLogger(__name__)
_BOT_TOKEN = re.compile(r"/bot\d+:[\w-]+")
_Spend = TypeVar("_Spend", bound=SpendTotals)

# One pass over the window: the grand total and the per-account, per-model and per-agent-type sums.
_SPEND = text(
    """
    SELECT
        GROUPING(u.account_id) = 0 AS by_account,
        GROUPING(u.model) = 0 AS by_model,
        GROUPING(u.agent_type) = 0 AS by_agent_type,
        u.account_id, a.name AS account_name, u.model, u.agent_type,
        count(*) AS calls,
        count(DISTINCT u.turn_id) AS turns,
        coalesce(sum(u.input_tokens), 0) AS input_tokens,
        coalesce(sum(u.output_tokens), 0) AS output_tokens,
        coalesce(sum(u.cache_write_tokens), 0) AS cache_write_tokens,
        coalesce(sum(u.cache_read_tokens), 0) AS cache_read_tokens,
        coalesce(sum(u.cost_usd), 0) AS cost_usd
    FROM usage_events u JOIN accounts a ON a.id = u.account_id
    WHERE u.created_at >= :start AND u.created_at < :end
    GROUP BY GROUPING SETS ((), (u.account_id, a.name), (u.model), (u.agent_type))
    ORDER BY cost_usd DESC, calls DESC, account_name, u.model, u.agent_type
    """
)


def _spend(kind: type[_Spend], row: dict[str, Any]) -> _Spend:
    return kind.model_validate({name: row[name] for name in kind.model_fields})


async def load_spend_digest(db: AsyncConnection | AsyncSession, window: DigestWindow) -> SpendDigest:
    rows = [dict(row._mapping) for row in await db.execute(_SPEND, {"start": window.start, "end": window.end})]
    totals = next(r for r in rows if not (r["by_account"] or r["by_model"] or r["by_agent_type"]))
    return SpendDigest(
        digest_id=f"{window.start.isoformat()}/{window.end.isoformat()}",
        window_start=window.start,
        window_end=window.end,
        totals=_spend(SpendTotals, totals),
        top_accounts=[_spend(AccountSpend, r) for r in rows if r["by_account"]][:TOP_ACCOUNTS],
        models=[_spend(ModelSpend, r) for r in rows if r["by_model"]],
        agent_types=[_spend(AgentTypeSpend, r) for r in rows if r["by_agent_type"]],
    )


def _line(name: str, spend: SpendTotals) -> str:
    return (
        f"• {name}: ${spend.cost_usd:,.4f} · {spend.turns:,} turns · {spend.calls:,} calls · "
        f"{spend.input_tokens:,} in / {spend.output_tokens:,} out"
    )


def _window(digest: SpendDigest) -> str:
    start, end = digest.window_start.astimezone(UTC), digest.window_end.astimezone(UTC)
    end_format = "%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M"
    return f"{start:%Y-%m-%d %H:%M} to {end.strftime(end_format)} UTC"


def digest_text(digest: SpendDigest) -> str:
    totals = digest.totals
    lines = [
        f"turnflow spend {_window(digest)}",
        f"${totals.cost_usd:,.4f} · {totals.turns:,} turns · {totals.calls:,} calls",
        f"tokens: {totals.input_tokens:,} in · {totals.output_tokens:,} out · "
        f"{totals.cache_write_tokens:,} cache write · {totals.cache_read_tokens:,} cache read",
        "",
        "Top accounts",
        *(_line(a.account_name, a) for a in digest.top_accounts),
        "By model",
        *(_line(m.model, m) for m in digest.models),
        "Main vs sub-agent",
        *(_line(t.agent_type, t) for t in digest.agent_types),
    ]
    return "\n".join(lines)


def _utf16_units(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def trim_for_telegram(message: str) -> str:
    """Cut at a line end so no line is half shown, and say so: a silent cut would read as the whole digest."""
    if _utf16_units(message) <= TELEGRAM_TEXT_LIMIT:
        return message
    budget = TELEGRAM_TEXT_LIMIT - _utf16_units("\n" + TRIMMED)
    # errors="ignore" drops half of a surrogate pair cut at the edge.
    kept = message.encode("utf-16-le")[: budget * 2].decode("utf-16-le", errors="ignore")
    if "\n" in kept:
        kept = kept[: kept.rindex("\n")]
    return f"{kept}\n{TRIMMED}"


def digest_url(settings: Settings) -> str | None:
    """Where the digest goes; None when no webhook is configured."""
    base = settings.digest_webhook_url
    if not base:
        return None
    return f"{base.rstrip('/')}/sendMessage" if settings.digest_telegram_chat_id else base


def digest_body(settings: Settings, digest: SpendDigest) -> dict[str, Any]:
    """Telegram's sendMessage when a chat is configured, else the structured digest with its text."""
    message = digest_text(digest)
    if settings.digest_telegram_chat_id:
        return {"chat_id": settings.digest_telegram_chat_id, "text": trim_for_telegram(message)}
    return {**digest.model_dump(mode="json", by_alias=True), "text": message}


class _RedactBotToken(logging.Filter):
    """httpx logs every request's URL at INFO, and a Telegram URL carries the bot token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _BOT_TOKEN.search(message):
            record.msg, record.args = _BOT_TOKEN.sub("/bot<token>", message), None
        return True


logging.getLogger("httpx").addFilter(_RedactBotToken())


class DigestWebhookError(Exception):
    """The webhook refused or could not be reached; Temporal retries the activity."""


async def post_digest(url: str, body: dict[str, Any]) -> None:
    """Errors never name the URL: a Telegram URL holds the bot token, and errors land in workflow history."""
    try:
        async with httpx.AsyncClient(timeout=_POST_TIMEOUT) as http:
            response = await http.post(url, json=body)
    except httpx.HTTPError as exc:
        raise DigestWebhookError(f"the digest webhook could not be reached ({type(exc).__name__})") from None
    if not response.is_success:
        raise DigestWebhookError(f"the digest webhook answered {response.status_code}")


class SpendDigestActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name=POST_SPEND_DIGEST)
    async def post_spend_digest(self, window: DigestWindow) -> SpendDigestResult:
        """Sums and posts in one activity, so the digest never enters workflow history. A retry after a post
        that went through posts again: JSON receivers can drop the repeat by `digestId`, a Telegram chat shows it."""
        async with self._engine.connect() as conn:
            digest = await load_spend_digest(conn, window)
        totals = digest.totals
        url = digest_url(self._settings)
        posted = False
        if url is not None and totals.calls > 0:
            await post_digest(url, digest_body(self._settings, digest))
            posted = True
            _log.info("posted the spend digest %s (%d calls, $%s)", digest.digest_id, totals.calls, totals.cost_usd)
        return SpendDigestResult(
            window.start,
            window.end,
            calls=totals.calls,
            turns=totals.turns,
            cost_usd=str(totals.cost_usd),
            posted=posted,
        )
