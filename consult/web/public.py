"""Public pages of consultations: the list with filters and search, and a consultation with its articles.
Readable by everyone, without signing in."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import queries
from consult.web.files import pdf_download
from consult.web.manage import choices
from consult.web.templating import render

STATUS_FILTERS = ("open", "scheduled", "closed", "outcome_published")


async def consultation_list(request: Request) -> Response:
    params = request.query_params
    agency = params.get("agency", "")
    filters = queries.ConsultationFilters(
        agency=int(agency) if agency.isdigit() and len(agency) < 10 else None,
        kind=params.get("kind", ""),
        status=params.get("status", ""),
        q=params.get("q", "").strip()[:100],
        topic=params.get("topic", "").strip()[:80],
    )
    page = await queries.public_consultation_cards(filters, params.get("after"))
    kept = {k: v for k, v in {"agency": agency, "kind": filters.kind, "status": filters.status, "q": filters.q, "topic": filters.topic}.items() if v}
    next_url = f"/consultations?{urlencode({**kept, 'after': page.next_cursor})}" if page.next_cursor else None
    return render(
        request,
        "consultations/list.html",
        {"page": page, "filters": filters, "agencies": await queries.agencies(), "topics": await queries.topics(), "next_url": next_url,
         "status_filters": STATUS_FILTERS, **choices()},
    )


async def download_attachment(request: Request) -> Response:
    """A PDF of a published consultation; a draft's files stay with its officials."""
    attachment = await queries.public_attachment(request.path_params["slug"], request.path_params["attachment_id"])
    if attachment is None:
        raise HTTPException(404)
    return pdf_download(request.app.state.settings, attachment, "no-cache")


routes = [
    Route("/consultations", consultation_list, name="consultations"),
    Route("/consultations/{slug:str}/attachments/{attachment_id:int}", download_attachment, name="consultation_attachment"),
]
