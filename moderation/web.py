"""Moderation pages: the queue, one item and its decision, bulk decisions and their progress, the audit
log, and the public transparency pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import review_queries, reviewing
from consult.i18n import gettext as _
from consult.models import DecisionReason
from consult.permissions import Principal, can_moderate, can_view_audit_log
from consult.review_queries import AGES, SIGNAL_KINDS, AuditFilter, QueueFilter
from consult.services import PermissionDenied, ServiceError
from consult.web import pagecache
from consult.web.forms import read_form_lists
from consult.web.templating import flash, render
from consult.web.views import redirect, require_account, settings_of
from moderation.highlight import highlighted

MAX_SELECTION = 500


def require_moderator(request: Request) -> Principal:
    account = require_account(request)
    if not can_moderate(account):
        raise HTTPException(403)
    return account


def reason_choices() -> list[tuple[str, str]]:
    return [(reason.value, reviewing.reason_label(reason.value)) for reason in DecisionReason]


def _queue_url(f: QueueFilter, **changes: Any) -> str:
    query = urlencode(f.query(**changes))
    return "/moderation/" + (f"?{query}" if query else "")


def _present(item: dict[str, Any]) -> dict[str, Any]:
    """The text split into plain and highlighted parts per field, with the personal data spans offered
    for redaction."""
    item["parts"] = {
        "body": highlighted(item["body"], item["signals"], "body"),
        "proposed_wording": highlighted(item["proposed_wording"] or "", item["signals"], "proposed_wording"),
    }
    item["redactable"] = [
        {"field": s.get("field", "body"), "start": a, "end": b,
         "text": (item["body"] if s.get("field", "body") == "body" else item["proposed_wording"] or "")[a:b]}
        for s in item["signals"] if s["kind"] == "personal_data" for a, b in s["spans"]
    ]
    return item


async def queue(request: Request) -> Response:
    account = require_moderator(request)
    f = QueueFilter.parse(request.query_params)
    page = await review_queries.queue_page(account, f, request.query_params.get("after"))
    counts = await review_queries.queue_counts(account, f, settings_of(request).queue_counts_seconds)
    campaign = None
    if f.campaign:
        campaign = next((row["campaign"] for row in page.rows if row["campaign"]), None)
    return render(request, "moderation/queue.html", {
        "page": page, "items": [_present(row) for row in page.rows], "f": f, "counts": counts, "campaign": campaign,
        "next_url": _queue_url(f, after=page.next_cursor) if page.next_cursor else None,
        "queue_url": lambda **changes: _queue_url(f, **changes), "ages": list(AGES), "signal_kinds": SIGNAL_KINDS,
        "reasons": reason_choices(),
    })


async def _item_or_404(request: Request, account: Principal) -> dict[str, Any]:
    item = await review_queries.queue_item(request.path_params["comment_id"])
    if item is None or not can_moderate(account, item["agency_id"]):
        raise HTTPException(404)
    return _present(item)


async def item(request: Request) -> Response:
    account = require_moderator(request)
    found = await _item_or_404(request, account)
    return render(request, "moderation/item.html", _item_context(found, request))


def _item_context(found: dict[str, Any], request: Request, **extra: Any) -> dict[str, Any]:
    return {"item": found, "reasons": reason_choices(), "back": request.query_params.get("back") or "/moderation/", **extra}


def _first(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _back(form: dict[str, list[str]]) -> str:
    """Where the moderator came from in the queue (never elsewhere: no open redirect)."""
    back = _first(form, "back")
    return back if back.startswith("/moderation/") else "/moderation/"


def _spans(values: list[str]) -> list[tuple[str, int, int]]:
    spans = []
    for value in values:
        field, _, rest = value.partition(":")
        start, _, end = rest.partition("-")
        if field in ("body", "proposed_wording") and start.isdigit() and end.isdigit():
            spans.append((field, int(start), int(end)))
    return spans


async def decide(request: Request) -> Response:
    account = require_moderator(request)
    found = await _item_or_404(request, account)
    form = await read_form_lists(request)
    version = _first(form, "version")
    values = {name: _first(form, name) for name in ("action", "reason", "note", "phrases")}
    values["spans"] = form.get("spans", [])
    try:
        await reviewing.decide(
            account, settings_of(request), found["id"], action=values["action"],
            version=int(version) if version.isdigit() else None, reason_code=values["reason"], note=values["note"],
            redact_spans=_spans(values["spans"]), redact_phrases=values["phrases"].splitlines(),
        )
    except ServiceError as error:
        fresh = await _item_or_404(request, account)  # the state another moderator may have changed
        return render(request, "moderation/item.html", _item_context(fresh, request, values=values, errors=error.errors), status_code=error.status)
    except PermissionDenied:
        raise HTTPException(403) from None
    flash(request, _("Decision saved on comment %(id)s.", id=found["id"]))
    return redirect(_back(form))


async def bulk(request: Request) -> Response:
    """A decision on the selected comments, or on every comment of a campaign that waits: started as a job."""
    account = require_moderator(request)
    form = await read_form_lists(request)
    ids = [int(v) for v in form.get("selected", []) if v.isdigit()][:MAX_SELECTION]
    campaign = _first(form, "campaign")
    try:
        job = await reviewing.start_bulk(
            account, action=_first(form, "action"), reason_code=_first(form, "reason"), note=_first(form, "note"), comment_ids=ids,
            campaign_id=int(campaign) if campaign.isdigit() and int(campaign) < review_queries.MAX_ID else None,
        )
    except ServiceError as error:
        flash(request, " ".join(error.errors.values()))
        return redirect(_back(form))
    except PermissionDenied:
        raise HTTPException(403) from None
    return redirect(f"/moderation/bulk/{job.id}")


async def bulk_progress(request: Request) -> Response:
    account = require_moderator(request)
    job = await review_queries.bulk_progress(request.path_params["bulk_id"])
    if job is None or (job["actor_id"] != account.id and not account.is_admin):
        raise HTTPException(404)
    return render(request, "moderation/bulk.html", {"job": job})


async def audit_log(request: Request) -> Response:
    account = require_account(request)
    if not can_view_audit_log(account):
        raise HTTPException(403)
    f = AuditFilter.parse(request.query_params)
    page = await review_queries.audit_page(f, request.query_params.get("after"))
    query = {k: v for k, v in f.__dict__.items() if v}
    next_url = f"/moderation/audit?{urlencode({**query, 'after': page.next_cursor})}" if page.next_cursor else None
    return render(request, "moderation/audit.html", {"page": page, "f": f, "next_url": next_url})


# --- transparency (public) -------------------------------------------------------------------------


async def transparency(request: Request) -> Response:
    async def build() -> Response:
        figures = await review_queries.transparency()
        return render(request, "moderation/transparency.html", {"figures": figures, "consultation": None, "reasons": reason_choices()})

    return await pagecache.for_visitors(request, build)


async def consultation_transparency(request: Request) -> Response:
    consultation = await review_queries.transparency_consultation(request.path_params["slug"])
    if consultation is None:
        raise HTTPException(404)

    async def build() -> Response:
        figures = await review_queries.transparency(consultation["id"])
        return render(request, "moderation/transparency.html", {"figures": figures, "consultation": consultation, "reasons": reason_choices()})

    return await pagecache.for_visitors(request, build)


routes = [
    Route("/moderation/", queue, name="moderation_queue"),
    Route("/moderation/comments/{comment_id:int}", item, name="moderation_item"),
    Route("/moderation/comments/{comment_id:int}/decide", decide, methods=["POST"], name="moderation_decide"),
    Route("/moderation/bulk", bulk, methods=["POST"], name="moderation_bulk"),
    Route("/moderation/bulk/{bulk_id:int}", bulk_progress, name="moderation_bulk_progress"),
    Route("/moderation/audit", audit_log, name="audit_log"),
    Route("/transparency", transparency, name="transparency"),
    Route("/consultations/{slug:str}/transparency", consultation_transparency, name="consultation_transparency"),
]
