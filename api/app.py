"""Builds the FastAPI application: routers, problem+json errors, body limits, the database pool."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import chat_workflow, chats, metrics, session_lifecycle, sessions, stops, tokens, turns, usage
from api.body_limit import BodyLimitMiddleware
from api.docs import install_docs
from api.draft_hub import DraftHub
from api.key_revocations import RevokedKeys
from api.limits import ProcessHolds
from api.metrics import RequestMetricsMiddleware, observe_delivery
from api.nul_guard import NulGuardMiddleware
from api.problems import install_problem_handlers
from api.temporal import TemporalConnection
from api.tracing import instrument_app
from api.web_app import mount_web_app
from models.database import asyncpg_dsn, create_engine, session_factory
from models.settings import Settings, get_settings
from turnlog.hub import EventHub

# Headers a browser script may read from a response: which turn a send started, where to resume it.
EXPOSED_HEADERS = ["X-Turn-Id", "Location"]
DESCRIPTION = """
Durable chat turns on Temporal. Every route needs `Authorization: Bearer <api key>`
(`turnflow keys create --account NAME`); every error is an RFC 9457 problem document.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url()
        engine = create_engine(url, pool_size=settings.db_pool_size)
        # Streams read the log on every wake-up and ride out database outages by themselves: no ping per read, and
        # each read is one statement, so no transaction around it either.
        stream_engine = create_engine(url, pool_size=settings.db_pool_size, pre_ping=False, autocommit=True)
        hub = EventHub(asyncpg_dsn(url), stream_engine, settings.stream_keepalive_s, observe_delivery)
        await hub.start()
        revoked = RevokedKeys(asyncpg_dsn(url))
        await revoked.start()
        app.state.revoked_keys = revoked
        drafts = DraftHub(asyncpg_dsn(url))
        await drafts.start()
        app.state.draft_hub = drafts
        app.state.stream_engine = stream_engine
        app.state.sessions = session_factory(engine)
        app.state.event_hub = hub
        app.state.temporal = TemporalConnection(settings)
        try:
            yield
        finally:
            await revoked.stop()
            await drafts.stop()
            await hub.stop()
            await stream_engine.dispose()
            await engine.dispose()

    logging.basicConfig(level=settings.log_level.upper())
    app = FastAPI(
        title="turnflow",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.browser_token_secret = settings.resolved_browser_token_secret()
    app.state.holds = ProcessHolds()
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(RequestMetricsMiddleware)
    instrument_app(app)
    # Outermost, so that errors (413, 401, 5xx) carry the CORS headers a browser needs to read them.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
    install_docs(app)
    app.include_router(sessions.router)
    app.include_router(session_lifecycle.router)
    app.include_router(chats.router)
    app.include_router(chat_workflow.router)
    app.include_router(turns.router)
    app.include_router(stops.router)
    app.include_router(usage.router)
    app.include_router(tokens.router)
    app.include_router(metrics.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    mount_web_app(app, settings.web_build())
    return app
