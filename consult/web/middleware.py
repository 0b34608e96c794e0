"""ASGI middleware: security headers, body size limit, and the request's account and language."""

from __future__ import annotations

import re
from typing import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consult import i18n
from consult.queries import load_principal

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
LANG_COOKIE = "lang"


def security_headers(https_only: bool) -> list[tuple[bytes, bytes]]:
    headers = list(SECURITY_HEADERS)
    if https_only:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, https_only: bool = False):
        self.app = app
        self.headers = security_headers(https_only)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in self.headers if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses bodies over the limit, by Content-Length or while streaming.

    ``allowances`` are (path pattern, limit) pairs for the few routes that take files: the global
    limit stays small for every other form."""

    def __init__(self, app: ASGIApp, max_bytes: int, allowances: Sequence[tuple[str, int]] = ()):
        self.app = app
        self.max_bytes = max_bytes
        self.allowances = [(re.compile(pattern), limit) for pattern, limit in allowances]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.allowances:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        length = Headers(scope=scope).get("content-length")
        declared_too_large = length is not None and length.isdigit() and int(length) > max_bytes
        received = 0

        # Raised from receive(), so only a handler that reads the body fails, and it fails inside the
        # app, where the exception handlers turn it into a 413 page.
        async def limited_receive() -> Message:
            nonlocal received
            if declared_too_large:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge()
            return message

        await self.app(scope, limited_receive, send)


def choose_language(account_language: str | None, cookie: str | None, accept: str | None, default: str) -> str:
    if account_language in i18n.LANGUAGES:
        return account_language
    if cookie in i18n.LANGUAGES:
        return cookie
    return i18n.negotiate(accept, default)


class AccountLanguageMiddleware:
    """Loads the signed-in account (one query, none for visitors) and sets the request's language."""

    def __init__(self, app: ASGIApp, default_language: str):
        self.app = app
        self.default_language = default_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        account = None
        if "account_id" in session:
            account = await load_principal(session["account_id"], session.get("session_version", 0))
            if account is None:  # password changed or account gone: this session is over
                session.pop("account_id", None)
                session.pop("session_version", None)
        scope.setdefault("state", {})["account"] = account
        headers = Headers(scope=scope)
        cookie = _cookie_value(headers.get("cookie", ""), LANG_COOKIE)
        language = choose_language(account.language if account else None, cookie, headers.get("accept-language"), self.default_language)
        scope["state"]["language"] = language
        token = i18n.set_language(language)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.reset_language(token)


def _cookie_value(cookie_header: str, name: str) -> str | None:
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
