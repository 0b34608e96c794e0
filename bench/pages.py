"""A page served by the app compared with its limit: the same template from memory (bench.limit)."""

from __future__ import annotations

import re
from typing import Any

from bench.databases import BenchDatabase
from bench.limit import PAGE_ENV, write_page
from bench.servers import BenchError, LoadOptions, fetch, generate_load, serve

# Both servers put a fresh CSRF token into every page; nothing else may differ between them.
CSRF_VALUE = re.compile(rb'(name="csrf_token" value=")[^"]*(")')
# What is reported of each side's load run (bench.load gives more).
FIGURES = ("requests", "rps", "p50_ms", "p99_ms", "max_ms", "errors", "server_cpu", "database_cpu", "loader_cpu", "other_cpu")


def compare_page(
    database: BenchDatabase, workers: int, load: LoadOptions, path: str, template: str, context: dict[str, Any],
    app_settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Load `path` on the app, then on the bare app rendering `template` from `context`; figures and their ratio.

    `context` is what the page's view passes to render(), read from the seeded database by the app's own
    query functions, so both servers render the same rows into the same HTML. `app_settings` (CONSULT_*
    variables) apply to the app's server only.
    """
    with serve("main:create_app", {**database.env, **(app_settings or {})}, workers) as server:
        app_html = page_html(server.base_url + path)
        app = generate_load(server, path, load, database.process_title)

    page_file = database.data_dir / "limit-page.pickle"
    write_page(page_file, path, template, context)
    with serve("bench.limit:create_app", {**database.env, PAGE_ENV: str(page_file)}, workers) as server:
        if CSRF_VALUE.sub(rb"\1\2", page_html(server.base_url + path)) != CSRF_VALUE.sub(rb"\1\2", app_html):
            raise BenchError(f"the app and the limit render different HTML for {path}: the comparison would not be fair")
        limit = generate_load(server, path, load)

    return {
        "path": path,
        "page_bytes": len(app_html),
        **{key: app[key] for key in FIGURES},
        **{f"limit_{key}": limit[key] for key in FIGURES},
        "ratio": round(app["rps"] / limit["rps"], 3) if limit["rps"] else None,
    }


def page_html(url: str) -> bytes:
    status, body = fetch(url)
    if status != 200:
        raise BenchError(f"{url} answered {status}, not 200: {body[:500]!r}")
    return body
