"""Reading forms: content type, CSRF token, and plain string values (and uploaded files where a form has them)."""

from __future__ import annotations

import hmac
import secrets
from contextlib import asynccontextmanager
from typing import AsyncIterator
from urllib.parse import urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

CSRF_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfError(Exception):
    pass


class Form(dict):
    """The submitted fields as {name: value} (the last value of a repeated name, as before), with every
    value of a repeated name (a group of checkboxes) through getlist, and the uploaded files by name."""

    def __init__(self, pairs: list[tuple[str, str]], files: dict[str, UploadFile] | None = None):
        super().__init__(pairs)
        self._lists: dict[str, list[str]] = {}
        for name, value in pairs:
            self._lists.setdefault(name, []).append(value)
        self.files: dict[str, UploadFile] = files or {}

    def getlist(self, name: str) -> list[str]:
        return list(self._lists.get(name, []))


def ensure_csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def _checked_form(request: Request, **limits: int) -> FormData:
    origin = request.headers.get("origin")
    # Browsers send Origin on every POST; one from another site is a forged request, whatever the token.
    if origin is not None and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfError()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in FORM_TYPES:
        raise HTTPException(415)
    try:
        form: FormData = await request.form(**limits)
    except ClientDisconnect:
        # The browser went away mid-upload (a closed tab, a dropped line): nothing to answer, nothing to log.
        raise HTTPException(400) from None
    expected = request.session.get("csrf", "")
    given = form.get(CSRF_FIELD, "")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        await form.close()
        raise CsrfError()
    return form


def _fields(form: FormData) -> list[tuple[str, str]]:
    return [(key, value) for key, value in form.multi_items() if isinstance(value, str) and key != CSRF_FIELD]


async def read_form(request: Request) -> Form:
    """The submitted form, after checking its type and its CSRF token. Uploaded files are dropped."""
    form = await _checked_form(request)
    try:
        return Form(_fields(form))
    finally:
        await form.close()  # releases any uploaded file's temporary storage


@asynccontextmanager
async def read_upload_form(request: Request, max_files: int = 1) -> AsyncIterator[Form]:
    """Like read_form, with the uploaded files in ``form.files``; they are readable inside the block only."""
    form = await _checked_form(request, max_files=max_files, max_fields=20)
    try:
        files = {key: value for key, value in form.multi_items() if isinstance(value, UploadFile)}
        yield Form(_fields(form), files)
    finally:
        await form.close()


async def read_form_lists(request: Request) -> dict[str, list[str]]:
    """Like read_form, with every value of fields that repeat (checkboxes of one question)."""
    await read_form(request)
    form: FormData = await request.form()  # parsed once: Starlette keeps the form read above
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form.keys() if key != CSRF_FIELD}
