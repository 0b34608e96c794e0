"""Sending stored files: PDF attachments as downloads, named as they were uploaded."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse

from consult.services import attachment_path, slugify
from consult.settings import Settings


def content_disposition(filename: str, extension: str = "pdf") -> str:
    """An attachment header that keeps a Vietnamese name (RFC 6266 / RFC 5987 ``filename*``), with an
    ASCII name for the few clients that read only ``filename``."""
    suffix = f".{extension}"
    stem = filename[: -len(suffix)] if filename.lower().endswith(suffix) else filename
    fallback = f"{slugify(stem)}{suffix}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def pdf_download(settings: Settings, attachment: dict[str, Any], cache_control: str) -> FileResponse:
    path = attachment_path(settings, attachment["stored_name"])
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(
        path,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(attachment["filename"]),
            # The file is a PDF because its first bytes said so; a browser must not guess otherwise.
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": cache_control,
        },
    )
