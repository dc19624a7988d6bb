from __future__ import annotations

import asyncpg

from tests.importing.conftest import Importer
from tests.importing.source_db import generate_rooms


async def test_smoke(source: asyncpg.Connection, run_import_into: Importer) -> None:
    data = generate_rooms(20, 60, deleted_accounts=1)
    await data.insert(source)
    first = await run_import_into("rooms")
    print(first.as_json() | {"skipped": first.skipped[:3]})
    second = await run_import_into("rooms")
    print(second.as_json())
    assert sum(second.written.values()) == 0
