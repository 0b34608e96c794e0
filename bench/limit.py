"""The limit a page is compared with: its template rendered from rows held in memory by a bare Starlette app.

No database, no middleware, no session: only routing, the same Jinja2 environment as the app
(`build_environment`), the same context shape, and the same uvicorn settings. Served as

    BENCH_LIMIT_PAGE=/path/to/page.pickle uvicorn bench.limit:create_app --factory ...

where the pickle, written by the harness moments before into its private data directory, holds the path,
the template and the context the app rendered for the same data (see bench.pages).
"""

from __future__ import annotations

import os
import pickle
import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from consult import i18n
from consult.settings import load_settings
from consult.web.templating import build_environment

PAGE_ENV = "BENCH_LIMIT_PAGE"


def write_page(file: Path, path: str, template: str, context: dict[str, Any]) -> None:
    file.write_bytes(pickle.dumps({"path": path, "template": template, "context": context}))


def create_app() -> Starlette:
    page = pickle.loads(Path(os.environ[PAGE_ENV]).read_bytes())
    settings = load_settings()
    template = build_environment(settings).get_template(page["template"])
    language = settings.default_language

    async def render(request: Request) -> Response:
        token = i18n.set_language(language)
        try:
            # The same variables as consult.web.templating.render gives a visitor who is not signed in.
            values = {
                "request": request,
                "account": None,
                "lang": language,
                "csrf_token": secrets.token_urlsafe(32),
                "site_name": settings.site_name,
                "flash": [],
                "errors": {},
                "values": {},
                **page["context"],
            }
            return HTMLResponse(template.render(values))
        finally:
            i18n.reset_language(token)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(page["path"], render), Route("/healthz", healthz)])
