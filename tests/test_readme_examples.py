"""Every shell example in the README runs as written against a real stack (PostgreSQL, Temporal, a worker and the
API over HTTP), with the addresses swapped for the test stack's and the key where `make dev` keeps it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.app import create_app
from models.settings import Settings
from tests.conftest import Tenant
from tests.stack import serve_app

README = Path(__file__).parent.parent / "README.md"
EXAMPLE = re.compile(r"^( *)```sh\n(.*?)^\1```", re.S | re.M)
DEV_ADDRESSES = re.compile(r"(?:http://)?(?:127\.0\.0\.1|localhost):8000")
NOT_RUN_HERE = ("make dev", "make test")  # the quickstart itself: the suite is what runs it


def shell_examples() -> list[str]:
    blocks = [re.sub(rf"^{m.group(1)}", "", m.group(2), flags=re.M) for m in EXAMPLE.finditer(README.read_text())]
    return [block for block in blocks if not block.lstrip().startswith(NOT_RUN_HERE)]


@pytest.fixture
async def readme_api(stack_settings: Settings, worker: object) -> AsyncIterator[str]:
    secret = "readme-examples-browser-token-secret-0123456789"
    app = create_app(stack_settings.model_copy(update={"browser_token_secret": SecretStr(secret)}))
    server, task, url = await serve_app(app)
    yield url
    server.should_exit = True
    await task


@pytest.mark.slow
async def test_every_shell_example_runs(readme_api: str, tenant: Tenant, tmp_path: Path) -> None:
    (tmp_path / ".turnflow").mkdir()
    (tmp_path / ".turnflow" / "dev-api-key").write_text(tenant.key)
    examples = shell_examples()
    assert len(examples) >= 4
    for example in examples:
        script = DEV_ADDRESSES.sub(readme_api, example)
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-euo",
            "pipefail",
            "-c",
            script,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "KEY": tenant.key},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        text = output.decode()
        assert process.returncode == 0, f"{example}\n---\n{text}"
        assert "problem:internal" not in text and '"type":"error"' not in text.replace(" ", ""), f"{example}\n{text}"
        assert "command not found" not in text, text
