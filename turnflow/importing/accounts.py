"""Which turnflow account a source account's chats go to: the account of the same id and name (created when
missing), or the one `--account-map` names; deleted, unknown and excluded accounts' chats are skipped."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from turnflow.errors import CommandError
from turnflow.importing.records import SourceAccount

# The account map's word for "do not import this account".
EXCLUDE = "skip"


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str


Resolution = uuid.UUID | Refusal


def load_account_map(path: Path) -> dict[str, uuid.UUID | None]:
    """Lines `SOURCE_ACCOUNT_ID TURNFLOW_ACCOUNT_ID` (or `skip`), separated by a comma or spaces; `#` comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the account map {path}: {exc}") from None
    mapping: dict[str, uuid.UUID | None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = re.split(r"[\s,]+", line.split("#", 1)[0].strip())
        if fields == [""]:
            continue
        if len(fields) != 2:
            raise CommandError(f"{path}:{number}: expected `SOURCE_ACCOUNT_ID TURNFLOW_ACCOUNT_ID` or `... {EXCLUDE}`")
        source, target = fields
        if target == EXCLUDE:
            mapping[source] = None
            continue
        try:
            mapping[source] = uuid.UUID(target)
        except ValueError:
            raise CommandError(
                f"{path}:{number}: {target!r} is neither a turnflow account id nor `{EXCLUDE}`"
            ) from None
    return mapping


# Accounts whose id or name differ; only those are written, so an unchanged account is not even locked.
_DIFFERENT = """
    FROM unnest($1::uuid[], $2::text[]) AS s(id, name)
    WHERE NOT EXISTS (SELECT 1 FROM accounts t WHERE t.id = s.id AND t.name = s.name)
"""
_UPSERT = f"""
    INSERT INTO accounts (id, name) SELECT s.id, s.name {_DIFFERENT} ON CONFLICT (id) DO UPDATE SET name = excluded.name
"""
_WOULD_WRITE = f"SELECT count(*) {_DIFFERENT}"


class AccountResolver:
    """Resolves each source account once per run; accounts it creates are written in their own transaction."""

    def __init__(
        self,
        target: asyncpg.Connection,
        source_accounts: dict[str, SourceAccount] | None,
        mapping: dict[str, uuid.UUID | None],
        *,
        dry_run: bool,
    ) -> None:
        self._target, self._source, self._mapping, self._dry_run = target, source_accounts, mapping, dry_run
        self._inline: dict[str, SourceAccount] = {}
        self._resolved: dict[str, Resolution] = {}
        self.written = 0

    async def check_map(self) -> None:
        targets = {t for t in self._mapping.values() if t is not None}
        found = {r["id"] for r in await self._target.fetch("SELECT id FROM accounts WHERE id = ANY($1)", list(targets))}
        if missing := sorted(str(t) for t in targets - found):
            raise CommandError(f"the account map names turnflow accounts that do not exist: {', '.join(missing)}")

    def learn(self, accounts: list[SourceAccount]) -> None:
        for account in accounts:
            self._inline.setdefault(account.id, account)

    async def resolve(self, ids: set[str]) -> dict[str, Resolution]:
        new = sorted(ids - self._resolved.keys())
        creates: list[tuple[uuid.UUID, str]] = []
        known = await self._known_ids(new)
        for source_id in new:
            outcome = self._first_pass(source_id, known)
            if isinstance(outcome, SourceAccount):
                creates.append((uuid.UUID(outcome.id), outcome.name or f"imported-{outcome.id}"))
            else:
                self._resolved[source_id] = outcome
        await self._create(creates)
        return {i: self._resolved[i] for i in ids}

    async def _known_ids(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        candidates = [uuid.UUID(i) for i in ids if _is_uuid(i)]
        rows = await self._target.fetch("SELECT id::text AS id FROM accounts WHERE id = ANY($1)", candidates)
        return {r["id"] for r in rows}

    def _first_pass(self, source_id: str, known: set[str]) -> Resolution | SourceAccount:
        if source_id in self._mapping:
            target = self._mapping[source_id]
            return target if target is not None else Refusal("account-excluded", "excluded by the account map")
        if not _is_uuid(source_id):
            return Refusal("account-unknown", f"account id {source_id!r} is not a UUID; map it with --account-map")
        account = (self._source or {}).get(source_id) or self._inline.get(source_id)
        if account is None:
            if self._source is None and source_id in known:
                return uuid.UUID(source_id)
            where = "the source's accounts" if self._source is not None else "turnflow"
            return Refusal("account-unknown", f"account {source_id} is not in {where}; map it with --account-map")
        if account.deleted:
            return Refusal("account-deleted", f"account {source_id} was deleted in the source")
        return account

    async def _create(self, creates: list[tuple[uuid.UUID, str]]) -> None:
        """Accounts keep their source id and name; a name another turnflow account holds is refused, not renamed."""
        if not creates:
            return
        rows = await self._target.fetch(
            "SELECT id, name FROM accounts WHERE name = ANY($1)", [name for _, name in creates]
        )
        holders = {r["name"]: r["id"] for r in rows}
        accepted: list[tuple[uuid.UUID, str]] = []
        for account_id, name in creates:
            holder = holders.setdefault(name, account_id)
            if holder != account_id:
                detail = f"turnflow account {holder} is already named {name!r}; map it with --account-map"
                self._resolved[str(account_id)] = Refusal("account-name-taken", detail)
            else:
                accepted.append((account_id, name))
                self._resolved[str(account_id)] = account_id
        if not accepted:
            return
        ids, names = [a for a, _ in accepted], [n for _, n in accepted]
        if self._dry_run:
            self.written += int(await self._target.fetchval(_WOULD_WRITE, ids, names))
        else:
            self.written += int((await self._target.execute(_UPSERT, ids, names)).split()[-1])


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
