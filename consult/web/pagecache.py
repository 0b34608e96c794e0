"""A short-lived cache of whole pages for visitors who are not signed in.

The home page and the consultation pages are what most people read, and they are the same for every
visitor who is not signed in, except for the CSRF token of the language form. Each process keeps the rendered page for
a few seconds (setting page_cache_seconds) with the token cut out, and puts the visitor's own token
back in. A new comment or vote therefore reaches visitors at most that many seconds late; people who
are signed in always get a fresh page (their votes and forms are on it)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from consult import i18n
from consult.web.forms import ensure_csrf_token

TOKEN_SLOT = b"\x00csrf\x00"  # never in a rendered page: the HTML escapes nothing into NUL bytes


class PageCache:
    def __init__(self, seconds: float, max_pages: int = 256):
        self.seconds = seconds
        self.max_pages = max_pages
        self.pages: OrderedDict[tuple[str, str, str], tuple[float, bytes]] = OrderedDict()

    def get(self, key: tuple[str, str, str]) -> bytes | None:
        found = self.pages.get(key)
        if found is None:
            return None
        expires, body = found
        if time.monotonic() >= expires:
            del self.pages[key]
            return None
        return body

    def put(self, key: tuple[str, str, str], body: bytes) -> None:
        self.pages[key] = (time.monotonic() + self.seconds, body)
        self.pages.move_to_end(key)
        while len(self.pages) > self.max_pages:
            self.pages.popitem(last=False)

    def clear(self) -> None:
        self.pages.clear()


async def for_visitors(request: Request, build: Callable[[], Awaitable[Response]]) -> Response:
    """The page from the cache for a visitor who is not signed in, or built (and kept) otherwise."""
    cache: PageCache = request.app.state.page_cache
    if cache.seconds <= 0 or request.state.account is not None or request.session.get("flash"):
        return await build()
    key = (request.url.path, request.url.query, i18n.current_language())
    body = cache.get(key)
    token = ensure_csrf_token(request).encode()
    if body is not None:
        return HTMLResponse(body.replace(TOKEN_SLOT, token), headers={"Cache-Control": "no-cache"})
    response = await build()
    if response.status_code == 200 and isinstance(response, HTMLResponse):
        cache.put(key, response.body.replace(token, TOKEN_SLOT))
    return response
