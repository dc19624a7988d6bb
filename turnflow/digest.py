"""`turnflow digest`: the spend digest of the last minutes, shown (`--dry-run`) or posted now."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from activities.spend_digest import DigestWebhookError, digest_body, digest_url, load_spend_digest, post_digest
from models.digest import DigestWindow, SpendDigest
from models.settings import Settings
from turnflow.errors import CommandError


async def load_recent_digest(db: AsyncSession, minutes: int) -> SpendDigest:
    """The window that ends now, so an operator sees the spend a scheduled run would include so far."""
    end = datetime.now(UTC)
    return await load_spend_digest(db, DigestWindow(start=end - timedelta(minutes=minutes), end=end))


def require_webhook(settings: Settings) -> str:
    url = digest_url(settings)
    if url is None:
        raise CommandError(
            "no digest webhook: set TURNFLOW_DIGEST_WEBHOOK_URL (and TURNFLOW_DIGEST_TELEGRAM_CHAT_ID for Telegram), "
            "or pass --dry-run"
        )
    return url


async def deliver_digest(settings: Settings, digest: SpendDigest, *, dry_run: bool) -> None:
    """Prints the exact body the webhook would get, or posts it; an empty window sends nothing, like the schedule."""
    totals = digest.totals
    if totals.calls == 0:
        print(f"no usage from {digest.window_start:%H:%M} to {digest.window_end:%H:%M} UTC: nothing to send")
        return
    body = digest_body(settings, digest)
    if dry_run:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        target = f"Telegram chat {chat}" if (chat := settings.digest_telegram_chat_id) else "the JSON webhook"
        print(f"dry run: this is what {target} would get; nothing was posted", file=sys.stderr)
        return
    try:
        await post_digest(require_webhook(settings), body)
    except DigestWebhookError as exc:
        raise CommandError(str(exc)) from None
    print(f"posted the digest of {digest.digest_id}: {totals.calls} calls, {totals.turns} turns, ${totals.cost_usd}")
