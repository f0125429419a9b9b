"""The web UI (``web/``): a single-page app served as static files next to the API.

``/`` answers the app's ``index.html`` and ``/web/…`` its modules, styles and vendored scripts.
The app reads and writes only through the public ``/v1`` API. The files are not mounted as a
catch-all at ``/``: that would answer a POST to an unknown ``/v1`` path with 405 instead of 404,
and a wrong method on a known path without the router's ``Allow`` header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

WEB_DIR = Path(__file__).resolve().parents[2] / "web"  # the repository's web/
# Browsers revalidate every load (a 304 when unchanged), so a new release shows at once.
REVALIDATE = {"Cache-Control": "no-cache"}


class _RevalidatedFiles(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(REVALIDATE)
        return response


def mount_web(app: FastAPI, directory: Path = WEB_DIR) -> None:
    """Serve the web UI from ``directory``; an install without it serves the API alone."""
    index = directory / "index.html"
    if not index.is_file():
        return

    @app.get("/", include_in_schema=False)
    def web_index() -> FileResponse:
        return FileResponse(index, headers=REVALIDATE)

    app.mount("/web", _RevalidatedFiles(directory=directory), name="web")
