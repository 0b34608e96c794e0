"""The Atom feed of the latest public consultations, in the request's language."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import i18n, queries
from consult.web.api import page_url, plain, public_headers, utc_iso

FEED_SIZE = 50
ATOM_TYPE = "application/atom+xml; charset=utf-8"
# The date in a tag URI only has to be fixed: ids must never change once readers have seen them.
TAG_DATE = "2025"


async def consultations_feed(request: Request) -> Response:
    settings = request.app.state.settings
    base = settings.base_url.rstrip("/")
    page = await queries.api_consultations(queries.ConsultationFilters(), limit=FEED_SIZE)
    language = i18n.current_language()
    tag = f"tag:{urlsplit(base).hostname or 'localhost'},{TAG_DATE}:"
    entries = [
        {**row, "tag": f"{tag}consultation:{row['id']}", "url": page_url(request, row["slug"]), "updated": utc_iso(row["updated_at"]),
         "author": row["agency__name_en"] if language == "en" else row["agency__name_vi"], "status": plain(row["status"])}
        for row in page.rows
    ]
    newest = max((row["updated_at"] for row in page.rows), default=None) or datetime.now(timezone.utc)
    xml = request.app.state.templates.get_template("feed.xml").render(
        lang=language, site_name=settings.site_name, base=base, feed_id=f"{tag}consultations", updated=utc_iso(newest), entries=entries,
    )
    response = public_headers(request, Response(xml, media_type=ATOM_TYPE))
    # The feed's words and agency names follow the reader's language.
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


routes = [
    Route("/consultations/feed.atom", consultations_feed, name="consultations_feed"),
]
