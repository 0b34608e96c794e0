"""Reading forms: content type, CSRF token, and plain string values."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

CSRF_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfError(Exception):
    pass


def ensure_csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form as {name: value}, after checking its type and its CSRF token."""
    origin = request.headers.get("origin")
    # Browsers send Origin on every POST; one from another site is a forged request, whatever the token.
    if origin is not None and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfError()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in FORM_TYPES:
        raise HTTPException(415)
    form: FormData = await request.form()
    try:
        expected = request.session.get("csrf", "")
        given = form.get(CSRF_FIELD, "")
        if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
            raise CsrfError()
        return {key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD}
    finally:
        await form.close()  # releases any uploaded file's temporary storage

