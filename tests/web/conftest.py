"""The web app in Debian's chromium against the real stack: API (serving the build), worker, Temporal, PostgreSQL
and the stand-in model. Each test gets a fresh account, browser context and page; any console error fails it."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, ViewportSize, async_playwright, expect

from api.app import create_app
from models.settings import SOURCE_WEB_BUILD, Settings
from tests.conftest import Tenant
from tests.stack import serve_app
from worker import Workers

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download cannot work here; these keep chromium off the network and quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
WEB_DIR = SOURCE_WEB_BUILD.parent
PHONE: ViewportSize = {"width": 390, "height": 844}
# The deadline of every `expect(...)`: generous, because the box is shared and a turn under load takes seconds.
expect.set_options(timeout=30_000)


def _check_prerequisites() -> None:
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium: apt-get install chromium (make test does)")
    if not (SOURCE_WEB_BUILD / "index.html").exists():
        pytest.fail("the web app is not built: make web")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    _check_prerequisites()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@dataclass
class WebApp:
    """One signed-in user of the web app, with its pages and what their consoles said."""

    context: BrowserContext
    base_url: str
    tenant: Tenant
    http: httpx.AsyncClient
    console_errors: list[str] = field(default_factory=list)

    async def open(self, path: str = "/") -> Page:
        """A new tab signed in by link (the token moves into the tab's sessionStorage)."""
        page = await self.context.new_page()
        self.watch(page)
        await page.goto(f"{self.base_url}{path}#token={self.tenant.key}")
        return page

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: {error}"))


@asynccontextmanager
async def signed_in(browser: Browser, base_url: str, tenant: Tenant, http: httpx.AsyncClient) -> AsyncIterator[WebApp]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    app = WebApp(context=context, base_url=base_url, tenant=tenant, http=http)
    yield app
    await context.close()
    assert app.console_errors == [], "the pages logged errors"


@pytest.fixture
async def web(browser: Browser, api_url: str, tenant: Tenant, http: httpx.AsyncClient) -> AsyncIterator[WebApp]:
    """The production build, as the API serves it."""
    async with signed_in(browser, api_url, tenant, http) as app:
        yield app


@pytest.fixture(scope="session")
async def development_build_url(
    stack_settings: Settings, worker: Workers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """React's development build (StrictMode double-runs effects, warnings are console errors), served by a second
    API process on the same stack."""
    _check_prerequisites()
    out = tmp_path_factory.mktemp("web-dev")
    build = await asyncio.create_subprocess_exec(
        "npm",
        "exec",
        "--",
        "vite",
        "build",
        "--mode",
        "development",
        "--outDir",
        str(out),
        "--emptyOutDir",
        cwd=WEB_DIR,
        env={**os.environ, "NODE_ENV": "development"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await build.communicate()
    assert build.returncode == 0, output.decode(errors="replace")
    server, task, url = await serve_app(create_app(stack_settings.model_copy(update={"web_dist_dir": out})))
    yield url
    server.should_exit = True
    await task


@pytest.fixture
async def strict_web(
    browser: Browser, development_build_url: str, tenant: Tenant, http: httpx.AsyncClient
) -> AsyncIterator[WebApp]:
    async with signed_in(browser, development_build_url, tenant, http) as app:
        yield app


async def screenshot(page: Page, name: str) -> None:
    """Saved for people to look at (git-ignored): the main screens as the tests left them."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{re.sub(r'[^a-z0-9-]', '-', name)}.png", full_page=True)
