"""Accounts and API keys as an operator manages them, and the key `turnflow dev` hands to the developer."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.keys import generate_key, hash_key
from models.tables import Account, ApiKey
from turnflow.errors import CommandError

DEV_ACCOUNT = "dev"
DEV_KEY_NAME = "turnflow dev"


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never the key itself, which only its owner ever sees."""

    id: uuid.UUID
    prefix: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


async def ensure_account(db: AsyncSession, name: str) -> uuid.UUID:
    """Race-free get-or-create: two CLIs creating the same account both end up with its one row."""
    await db.execute(insert(Account).values(name=name).on_conflict_do_nothing(index_elements=[Account.name]))
    account_id: uuid.UUID = (await db.execute(select(Account.id).where(Account.name == name))).scalar_one()
    return account_id


@dataclass(frozen=True)
class IssuedKey:
    id: uuid.UUID
    raw: str


async def create_key(db: AsyncSession, account: str, name: str | None = None, raw: str | None = None) -> IssuedKey:
    """Issues a key for `account` (created if missing); only its hash is stored, so `raw` is shown now or never."""
    account_id = await ensure_account(db, account)
    if raw is None:
        new = generate_key()
        raw, prefix, key_hash = new.raw, new.prefix, new.key_hash
    else:
        prefix, key_hash = raw[:10], hash_key(raw)
    key = ApiKey(account_id=account_id, prefix=prefix, key_hash=key_hash, name=name)
    db.add(key)
    await db.flush()
    return IssuedKey(id=key.id, raw=raw)


async def list_keys(db: AsyncSession, account: str) -> list[KeyInfo]:
    account_id = await db.scalar(select(Account.id).where(Account.name == account))
    if account_id is None:
        raise CommandError(f"no account named {account!r}; `turnflow keys create --account {account}` creates it")
    rows = await db.scalars(select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.created_at))
    return [_info(row) for row in rows]


async def revoke_key(db: AsyncSession, key_id: str) -> tuple[KeyInfo, bool]:
    """Revokes the key; returns it and whether this call revoked it (False: it already was)."""
    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        raise CommandError(f"{key_id!r} is not a key id; `turnflow keys list --account NAME` shows them") from None
    revoked = await db.scalar(
        update(ApiKey)
        .where(ApiKey.id == parsed, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKey)
    )
    if revoked is not None:
        return _info(revoked), True
    existing = await db.get(ApiKey, parsed)
    if existing is None:
        raise CommandError(f"no API key with id {key_id}")
    return _info(existing), False


async def ensure_dev_key(db: AsyncSession, current: str | None) -> str:
    """The key to keep using: `current` (re-registered if the database was reset), or a new one if it was revoked."""
    if current is not None:
        stored = await db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(current)))
        if stored is None:
            await create_key(db, DEV_ACCOUNT, DEV_KEY_NAME, raw=current)
            return current
        if stored.revoked_at is None:
            return current
    return (await create_key(db, DEV_ACCOUNT, DEV_KEY_NAME)).raw


def read_key_file(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


def write_key_file(path: Path, key: str) -> None:
    """Readable by its owner only, like an SSH key."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # the file may predate us with a looser mode
        f.write(key + "\n")


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(id=key.id, prefix=key.prefix, name=key.name, created_at=key.created_at, revoked_at=key.revoked_at)
