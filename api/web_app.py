"""The reference web app served beside the API: its built files, and index.html for the app's own addresses.

The app's addresses (`/`, `/history`, `/dashboard`, `/sessions/{id}/chats/{id}`) are GET routes no API route uses;
they answer index.html only to requests that accept HTML (a browser loading or reloading a page), so a JSON client
that strays onto one still gets a problem document.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.problems import ProblemError

APP_PAGES = ("/", "/history", "/dashboard", "/sessions/{session_id}/chats/{chat_id}")
_log = logging.getLogger("turnflow.api")


def mount_web_app(app: FastAPI, build: Path) -> None:
    """Serves the build when there is one; without it the API runs alone and says how to build the app."""
    index = build / "index.html"
    if not index.is_file():
        _log.info("no web app at %s: build it with `make web` to have it served at /", build)
        return

    async def page(request: Request) -> FileResponse:
        if "text/html" not in request.headers.get("accept", ""):
            raise ProblemError(404, "not-found", f"{request.url.path} is a page of the web app, not an API route")
        # Revalidated on every load, so a new build is picked up; the assets it names are content-hashed.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    for path in APP_PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.mount("/assets", StaticFiles(directory=build / "assets", check_dir=False), name="web-assets")
