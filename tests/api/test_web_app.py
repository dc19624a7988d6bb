"""The API serves the web app's build: its files, index.html for the app's pages to browsers, JSON everywhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from models.settings import Settings

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CHAT_PAGE = "/sessions/5b0f6c1e-8d1a-4c47-9f0e-2a7f6b1d2c3e/chats/hR3pQx2Lk9TmWv1a"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="root"></div>')
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('app')")
    return tmp_path


async def _client(settings: Settings, build: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"web_dist_dir": build}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://turnflow.test") as http:
        yield http


@pytest.fixture
async def web_client(settings: Settings, build: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(settings, build):
        yield http


@pytest.mark.parametrize("path", ["/", "/history", "/dashboard", CHAT_PAGE])
async def test_browsers_get_the_app_at_its_pages(web_client: httpx.AsyncClient, path: str) -> None:
    page = await web_client.get(path, headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache", "a new build is picked up on the next load"
    assert '<div id="root">' in page.text


async def test_assets_are_served(web_client: httpx.AsyncClient) -> None:
    asset = await web_client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert (await web_client.get("/assets/missing.js")).status_code == 404


async def test_api_clients_never_get_a_page(web_client: httpx.AsyncClient) -> None:
    stray = await web_client.get(CHAT_PAGE, headers={"Accept": "application/json"})
    assert stray.status_code == 404
    assert stray.headers["content-type"].startswith("application/problem+json")
    assert "/" not in (await web_client.get("/openapi.json")).json()["paths"], "pages stay out of the API reference"


async def test_api_routes_answer_as_the_api_to_browsers_too(client: httpx.AsyncClient) -> None:
    listed = await client.get("/sessions", headers=HTML)
    assert listed.status_code == 401
    assert listed.headers["content-type"].startswith("application/problem+json")


async def test_without_a_build_the_api_runs_alone(settings: Settings, tmp_path: Path) -> None:
    async for http in _client(settings, tmp_path / "absent"):
        assert (await http.get("/", headers=HTML)).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
