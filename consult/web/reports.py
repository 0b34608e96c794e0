"""Reports and what follows a consultation: the report page (and its PDF), asking for a rebuild, the
agency's answer table and publishing the outcome, exports, the open data pages, and a page per comment
for the report's quotes to link to."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from consult import exports, i18n, outcomes, profile, queries, security
from consult.i18n import gettext as _
from consult.models import ConsultationStatus, OutcomeDecision
from consult.permissions import Principal, can_act_for_agency, can_export_personal, can_read_report
from consult.reports import charts
from consult.services import PermissionDenied, ServiceError
from consult.web.files import content_disposition
from consult.web.forms import read_form_lists
from consult.web.templating import flash, outcome_label, render
from consult.web.views import account_of, redirect, require_account, settings_of

EXPORT_KINDS = ("comments", "votes", "responses", "answers")
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}



def decision_choices() -> list[tuple[str, str]]:
    return [(d.value, outcome_label(d.value)) for d in OutcomeDecision]


async def consultation_by_slug(slug: str) -> dict[str, Any]:
    """Any consultation past its draft (the report and exports need closed ones too)."""
    consultation = await queries.public_consultation(slug)
    if consultation is None:
        raise HTTPException(404)
    return consultation


def _published(consultation: dict[str, Any]) -> bool:
    return consultation["status"] in (ConsultationStatus.OUTCOME_PUBLISHED, ConsultationStatus.ARCHIVED)


def report_reader(request: Request, consultation: dict[str, Any]) -> Principal | None:
    account = account_of(request)
    if not can_read_report(account, consultation["agency_id"], _published(consultation)):
        require_account(request)  # a visitor is asked to sign in, as for every page for staff
        raise HTTPException(403)
    return account


# --- the report ---------------------------------------------------------------------------------


def report_charts(data: dict[str, Any], language: str, fmt: i18n.Formatter) -> dict[str, Any]:
    """The SVG pictures of the report; every one has a table with the same numbers on the page."""
    number = fmt.number
    part = data["participation"]
    days = [(date.fromisoformat(day), comments + votes + responses) for day, comments, votes, responses in part["per_day"]]
    articles = [a for a in data["articles"] if a["comments"]]
    opinion = data.get("opinion") or {}
    return {
        "per_day": charts.timeline(
            days, chart_id="chart-per-day", title=_("Participation per day"),
            description=_("Comments, votes and answers per day; the table below gives the numbers."), fmt=number,
            date_fmt=lambda d: fmt.date_only(d),
        ),
        "provinces": charts.bar_chart(
            [(profile.province_name(code, language), n) for code, n in part["by_province"][:15]],
            chart_id="chart-provinces", title=_("Participants by province"),
            description=_("People who declared a province; the table below gives the numbers."), fmt=number,
        ),
        "stance": charts.stacked_bars(
            [(article_title(a), [a["stance"]["support"], a["stance"]["oppose"], a["stance"]["change"]]) for a in articles],
            [_("Support"), _("Oppose"), _("Suggest a change")],
            chart_id="chart-stance", title=_("Stance per article"),
            description=_("Share of comments supporting, opposing or suggesting a change, per article; the table below gives the numbers."),
            fmt=number,
        ),
        "themes": charts.bar_chart(
            [(t["label"], t["size"]) for t in data["themes"]["items"]],
            chart_id="chart-themes", title=_("Themes"), description=_("Comments per theme; the list below gives the numbers."), fmt=number,
        ),
        "sentiment": charts.bar_chart(
            [(_("Positive"), data["sentiment"]["positive"]), (_("Neutral"), data["sentiment"]["neutral"]), (_("Negative"), data["sentiment"]["negative"])],
            chart_id="chart-sentiment", title=_("Tone of the comments"), description=_("Comments by tone; the table below gives the numbers."), fmt=number,
        ),
        "opinion": charts.scatter(
            opinion.get("points") or [], [_("Group %(n)s", n=g["id"]) for g in opinion.get("groups", [])],
            chart_id="chart-opinion", title=_("Opinion groups"),
            description=_("Each mark is a participant, placed by how they voted; people who voted alike are close together. The group sizes are in the table below."),
        ) if opinion.get("status") == "ok" else None,
    }


def article_title(article: dict[str, Any]) -> str:
    if article["id"] is None:
        return _("The draft as a whole")
    return f"{article['label']} {article['title']}".strip()


async def report_context(request: Request, consultation: dict[str, Any], account: Principal | None) -> dict[str, Any]:
    report = await outcomes.report_of(consultation["id"])
    data = (report or {}).get("data")
    language = i18n.current_language()
    fmt = i18n.Formatter(settings_of(request).timezone)
    comment_texts: dict[int, str] = {}
    if data:
        ids = [r["comment_id"] for g in (data.get("opinion") or {}).get("groups", []) for r in g["representative"]]
        ids += [c["comment_id"] for c in (data.get("opinion") or {}).get("consensus", [])]
        comment_texts = await queries.comment_excerpts(ids)
    is_staff = can_export_personal(account, consultation["agency_id"])
    return {
        "c": consultation,
        "report": report,
        "data": data,
        "charts": report_charts(data, language, fmt) if data else {},
        "themes_by_id": {t["id"]: t for t in data["themes"]["items"]} if data else {},
        "comment_texts": comment_texts,
        "article_title": article_title,
        "province_name": lambda code: profile.province_name(code, language),
        "respondent_kind_label": profile.respondent_kind_label,
        "is_staff": is_staff,
        "can_rebuild": account is not None and can_read_report(account, consultation["agency_id"], False),
        "running": bool(report and (report["started_at"] or report["requested_at"])),
        "export_kinds": EXPORT_KINDS,
    }


async def report_page(request: Request) -> Response:
    consultation = await consultation_by_slug(request.path_params["slug"])
    account = report_reader(request, consultation)
    return render(request, "reports/report.html", await report_context(request, consultation, account))


async def rebuild_report(request: Request) -> Response:
    account = require_account(request)
    consultation = await consultation_by_slug(request.path_params["slug"])
    await read_form_lists(request)
    try:
        started = await outcomes.request_report(account, consultation["id"])
    except PermissionDenied:
        raise HTTPException(403)
    except ServiceError as error:
        flash(request, error.errors.get("", ""))
        return redirect(f"/consultations/{consultation['slug']}/report")
    flash(request, _("The report is being rebuilt. Reload this page in a moment to see it.") if started
          else _("A rebuild of this report is already running."))
    return redirect(f"/consultations/{consultation['slug']}/report")


async def report_pdf(request: Request) -> Response:
    from consult.reports import pdf

    consultation = await consultation_by_slug(request.path_params["slug"])
    account = report_reader(request, consultation)
    context = await report_context(request, consultation, account)
    if not context["data"]:
        raise HTTPException(404)
    body = await asyncio.to_thread(pdf.render_report, consultation, context["data"], i18n.current_language(), settings_of(request).timezone)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition(f"{consultation['slug']}-report.pdf"),
        "Cache-Control": "no-store",
    })


# --- exports -----------------------------------------------------------------------------------


async def export(request: Request) -> Response:
    consultation = await consultation_by_slug(request.path_params["slug"])
    kind, fmt = request.path_params["kind"], request.path_params["fmt"]
    if kind not in EXPORT_KINDS or fmt not in EXPORT_FORMATS:
        raise HTTPException(404)
    account = account_of(request)
    personal = request.query_params.get("fields") == "personal"
    staff = can_export_personal(account, consultation["agency_id"])
    if (personal or not _published(consultation)) and not staff:
        require_account(request)
        raise HTTPException(403)
    settings = settings_of(request)
    filename = f"{consultation['slug']}-{kind}{'-personal' if personal else ''}.{fmt}"
    headers = {"Content-Disposition": content_disposition(filename, fmt), "Cache-Control": "no-store"}
    if kind == "answers":
        personal = False  # the answer table names no one
    if personal:
        await outcomes.record_personal_export(account, consultation["id"], kind, fmt)
    # Each request reads in its own keyset batches: two at once (a double click) each get the whole file.
    if fmt == "csv":
        chunks = exports.csv_chunks(kind, consultation["id"], personal=personal, secret=security.participant_key_secret(settings.secret_key))
        return StreamingResponse(chunks, media_type=EXPORT_FORMATS[fmt], headers=headers)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    handle.close()
    path = Path(handle.name)
    try:
        await exports.write_xlsx(kind, consultation["id"], path, personal=personal, secret=security.participant_key_secret(settings.secret_key))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(path, media_type=EXPORT_FORMATS[fmt], headers=headers, background=BackgroundTask(path.unlink, missing_ok=True))


# --- the agency's answer --------------------------------------------------------------------------


async def answer_table(request: Request) -> Response:
    """GET: the table, made from the report on first visit. POST: save it, or save and publish."""
    account = require_account(request)
    consultation_id = request.path_params["consultation_id"]
    editing = await queries.consultation_for_editing(consultation_id)
    if editing is None:
        raise HTTPException(404)
    if not can_act_for_agency(account, editing["agency_id"]):
        raise HTTPException(403)
    settings = settings_of(request)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    status_code = 200
    if request.method == "POST":
        form = await read_form_lists(request)
        intro = (form.get("intro") or [""])[0]
        try:
            if (form.get("action") or [""])[0] == "publish":
                await outcomes.publish_outcome(account, settings, consultation_id, form, intro=intro)
                flash(request, _("The outcome is published. Followers are being told, and the open data is being prepared."))
                return redirect(f"/consultations/{editing['slug']}#outcome")
            await outcomes.save_answer(account, consultation_id, form, intro=intro)
            flash(request, _("The answer table is saved. It is not public until you publish it."))
            return redirect(f"/manage/{consultation_id}/outcome")
        except PermissionDenied:
            raise HTTPException(403)
        except ServiceError as error:
            errors, status_code = error.errors, error.status
            values = {key: items[0] for key, items in form.items() if items}
    items = await outcomes.prepare_answer(account, consultation_id)
    if not values:
        values = {"intro": editing.get("outcome_summary") or ""}
        for item in items:
            values[f"item-{item.id}-summary"] = item.summary
            values[f"item-{item.id}-decision"] = item.decision.value if item.decision else ""
            values[f"item-{item.id}-reason"] = item.reason
    return render(request, "reports/answer.html", {
        "c": editing,
        "items": items,
        "values": values,
        "errors": errors,
        "decisions": decision_choices(),
        "answerable": editing["status"] is ConsultationStatus.CLOSED,
    }, status_code=status_code)


# --- open data ------------------------------------------------------------------------------------


async def open_data(request: Request) -> Response:
    releases = await queries.open_data_releases()
    return render(request, "reports/open_data.html", {"releases": releases, "licence": settings_of(request).open_data_licence})


async def open_data_file(request: Request) -> Response:
    slug, name = request.path_params["slug"], request.path_params["name"]
    release = await queries.open_data_release(slug)
    if release is None or name not in {f["name"] for f in release["files"]}:
        raise HTTPException(404)
    path = settings_of(request).open_data_path / release["folder"] / name
    if not path.is_file():
        raise HTTPException(404)
    media = {"csv": "text/csv; charset=utf-8", "json": "application/json"}.get(name.rsplit(".", 1)[-1], "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


# --- one comment, for the report's links ----------------------------------------------------------------


async def comment_page(request: Request) -> Response:
    comment = await queries.published_comment(request.path_params["comment_id"])
    if comment is None:
        raise HTTPException(404)
    return render(request, "reports/comment.html", {"cm": comment})


routes = [
    Route("/consultations/{slug:str}/report", report_page, name="report"),
    Route("/consultations/{slug:str}/report.pdf", report_pdf, name="report_pdf"),
    Route("/consultations/{slug:str}/report/rebuild", rebuild_report, methods=["POST"], name="report_rebuild"),
    Route("/consultations/{slug:str}/export/{kind:str}.{fmt:str}", export, name="export_data"),
    Route("/manage/{consultation_id:int}/outcome", answer_table, methods=["GET", "POST"], name="manage_outcome"),
    Route("/open-data", open_data, name="open_data"),
    Route("/open-data/{slug:str}/{name:str}", open_data_file, name="open_data_file"),
    Route("/comments/{comment_id:int}", comment_page, name="comment_page"),
]
