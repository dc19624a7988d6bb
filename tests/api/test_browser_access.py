"""A page on another origin can call every route (CORS), and the API reference works with no network."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from models.settings import Settings
from tests.conftest import Tenant

APP_ORIGIN = "https://chat.example.com"


@pytest.fixture(scope="module")
async def browser_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with one allowed origin, set the way an operator sets it (a comma-separated variable)."""
    configured = Settings.model_validate(
        settings.model_dump() | {"cors_origins": f" {APP_ORIGIN}/ , https://other.example.com"}
    )
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://turnflow.test") as http:
            yield http


async def test_preflight_is_answered_for_every_route(browser_client: httpx.AsyncClient) -> None:
    spec = (await browser_client.get("/openapi.json")).json()
    checked = 0
    for template, operations in spec["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in operations:
            response = await browser_client.options(
                path,
                headers={
                    "Origin": APP_ORIGIN,
                    "Access-Control-Request-Method": method.upper(),
                    "Access-Control-Request-Headers": "authorization, content-type, last-event-id",
                },
            )
            assert response.status_code == 200, (method, template, response.text)
            assert response.headers["access-control-allow-origin"] == APP_ORIGIN
            assert method.upper() in response.headers["access-control-allow-methods"]
            assert "authorization" in response.headers["access-control-allow-headers"].lower()
            checked += 1
    assert checked >= 30


async def test_responses_expose_the_turn_headers_and_errors_are_readable(
    browser_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ok = await browser_client.get("/sessions", headers=tenant.headers | {"Origin": APP_ORIGIN})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = {h.strip().lower() for h in ok.headers["access-control-expose-headers"].split(",")}
    assert {"x-turn-id", "location"} <= exposed
    denied = await browser_client.get("/sessions", headers={"Origin": APP_ORIGIN})
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == APP_ORIGIN


async def test_an_origin_not_allowed_gets_no_cors_grant(browser_client: httpx.AsyncClient) -> None:
    preflight = await browser_client.options(
        "/chat/workflow", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    plain = await browser_client.get("/healthz", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in plain.headers


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_reference_pages_load_their_assets_from_the_api(browser_client: httpx.AsyncClient, page: str) -> None:
    html = (await browser_client.get(page)).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page loads scripts or styles"
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from outside the API"
        response = await browser_client.get(asset)
        assert response.status_code == 200 and len(response.content) > 1000, asset
