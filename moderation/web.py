"""Moderation pages: the audit log of staff actions (moderators and administrators)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import queries
from consult.permissions import can_view_audit_log
from consult.web.templating import render
from consult.web.views import require_account


async def audit_log(request: Request) -> Response:
    account = require_account(request)
    if not can_view_audit_log(account):
        raise HTTPException(403)
    page = await queries.audit_page(request.query_params.get("after"))
    return render(request, "moderation/audit.html", {"page": page})


routes = [Route("/moderation/audit", audit_log, name="audit_log")]
