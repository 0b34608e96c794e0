"""Officials' pages: write a draft and its articles, preview it, publish or schedule it, extend or close it."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import i18n, queries, services
from consult.i18n import gettext as _
from consult.models import ConsultationKind, ConsultationStatus, ModerationMode
from consult.permissions import Principal, can_act_for_agency
from consult.web.forms import read_form
from consult.web.templating import flash, render
from consult.web.views import redirect, require_account

DRAFT_FIELDS = ("title", "summary", "kind", "language", "moderation_mode")
ARTICLE_FIELDS = ("label", "title", "body")


def require_staff(request: Request) -> Principal:
    account = require_account(request)
    if not (account.is_admin or account.agency_ids):
        raise HTTPException(403)
    return account


async def consultation_or_404(request: Request, account: Principal) -> dict[str, Any]:
    consultation = await queries.consultation_for_editing(request.path_params["consultation_id"])
    if consultation is None:
        raise HTTPException(404)
    if not can_act_for_agency(account, consultation["agency_id"]):
        raise HTTPException(403)
    return consultation


def choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "kinds": [
            (ConsultationKind.POLICY.value, _("Policy")),
            (ConsultationKind.LEGAL_TEXT.value, _("Draft legal text")),
            (ConsultationKind.SERVICE_DESIGN.value, _("Service design")),
        ],
        "modes": [
            (ModerationMode.POST.value, _("Publish comments once automatic screening passes")),
            (ModerationMode.PRE.value, _("Publish nothing until a moderator approves it")),
        ],
        "languages": list(i18n.LANGUAGE_NAMES.items()),
    }


def formatter(request: Request) -> i18n.Formatter:
    return i18n.Formatter(request.app.state.settings.timezone)


async def consultation_list(request: Request) -> Response:
    account = require_staff(request)
    return render(request, "manage/list.html", {"consultations": await queries.managed_consultations(account)})


async def agencies_of(account: Principal) -> list[dict[str, Any]]:
    return [a for a in await queries.agencies() if account.is_admin or a["id"] in account.agency_ids]


async def new_consultation(request: Request) -> Response:
    account = require_staff(request)
    agencies = await agencies_of(account)
    context = {"agencies": agencies, **choices()}
    if request.method == "GET":
        return render(request, "manage/new.html", {**context, "values": {"language": i18n.current_language(), "moderation_mode": "post"}})
    form = await read_form(request)
    values = {name: form.get(name, "") for name in (*DRAFT_FIELDS, "agency")}
    agency = values["agency"]
    try:
        consultation = await services.create_draft(
            account, agency_id=int(agency) if agency.isdigit() else None, **{k: values[k] for k in DRAFT_FIELDS}
        )
    except services.ServiceError as error:
        return render(request, "manage/new.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, _("Draft created. Add its articles, then preview and publish it."))
    return redirect(f"/manage/{consultation.id}")


def edit_context(request: Request, consultation: dict[str, Any], **extra: Any) -> dict[str, Any]:
    fmt = formatter(request)
    status = consultation["status"]
    return {
        "c": consultation,
        "editable": status in services.EDITABLE,
        "can_publish": status is ConsultationStatus.DRAFT,
        "can_extend": status in (ConsultationStatus.SCHEDULED, ConsultationStatus.OPEN),
        "can_close": status is ConsultationStatus.OPEN,
        "closes_input": fmt.input_value(consultation["closes_at"]),
        "timezone": request.app.state.settings.timezone,
        "article_values": {},
        "dates": {},
        **choices(),
        **extra,
    }


def draft_values(consultation: dict[str, Any]) -> dict[str, str]:
    """The stored fields as the form shows them (choices by their value)."""
    return {name: getattr(consultation[name], "value", consultation[name]) for name in DRAFT_FIELDS}


async def edit_consultation(request: Request) -> Response:
    account = require_staff(request)
    consultation = await consultation_or_404(request, account)
    if request.method == "GET":
        return render(request, "manage/edit.html", edit_context(request, consultation, values=draft_values(consultation)))
    form = await read_form(request)
    values = {name: form.get(name, "") for name in DRAFT_FIELDS}
    try:
        await services.update_draft(account, consultation["id"], **values)
    except services.ServiceError as error:
        return render(request, "manage/edit.html", edit_context(request, consultation, values=values, errors=error.errors), status_code=error.status)
    flash(request, _("Changes saved."))
    return redirect(f"/manage/{consultation['id']}")


async def add_article(request: Request) -> Response:
    account = require_staff(request)
    consultation = await consultation_or_404(request, account)
    form = await read_form(request)
    values = {name: form.get(name, "") for name in ARTICLE_FIELDS}
    try:
        await services.add_article(account, consultation["id"], **values)
    except services.ServiceError as error:
        errors = {("article_" + k if k else k): v for k, v in error.errors.items()}
        article_values = {f"article_{k}": v for k, v in values.items()}
        context = edit_context(request, consultation, values=draft_values(consultation), article_values=article_values, errors=errors)
        return render(request, "manage/edit.html", context, status_code=error.status)
    flash(request, _("Article added."))
    return redirect(f"/manage/{consultation['id']}#articles")


async def article_or_404(request: Request, account: Principal) -> dict[str, Any]:
    article = await queries.article_for_editing(request.path_params["article_id"])
    if article is None:
        raise HTTPException(404)
    if not can_act_for_agency(account, article["consultation__agency_id"]):
        raise HTTPException(403)
    return article


async def edit_article(request: Request) -> Response:
    account = require_staff(request)
    article = await article_or_404(request, account)
    if request.method == "GET":
        values = {"label": article["label"], "title": article["title"], "body": article["body_markdown"]}
        return render(request, "manage/article.html", {"article": article, "values": values})
    form = await read_form(request)
    values = {name: form.get(name, "") for name in ARTICLE_FIELDS}
    try:
        await services.update_article(account, article["id"], **values)
    except services.ServiceError as error:
        return render(request, "manage/article.html", {"article": article, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, _("Article saved."))
    return redirect(f"/manage/{article['consultation_id']}#articles")


async def remove_article(request: Request) -> Response:
    account = require_staff(request)
    article = await article_or_404(request, account)
    await read_form(request)
    try:
        await services.remove_article(account, article["id"])
    except services.ServiceError as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(f"/manage/{article['consultation_id']}")
    flash(request, _("Article removed."))
    return redirect(f"/manage/{article['consultation_id']}#articles")


async def move_article(request: Request) -> Response:
    account = require_staff(request)
    article = await article_or_404(request, account)
    form = await read_form(request)
    try:
        await services.move_article(account, article["id"], -1 if form.get("direction") == "up" else 1)
    except services.ServiceError as error:
        flash(request, next(iter(error.errors.values())))
    return redirect(f"/manage/{article['consultation_id']}#articles")


def read_times(request: Request, form: dict[str, str], names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    parsed, errors = {}, {}
    for name in names:
        try:
            parsed[name] = formatter(request).parse_input(form.get(name, ""))
        except ValueError:
            errors[name] = _("Enter a real date and time, for example 2026-12-31 17:00")
    return parsed, errors


async def lifecycle_action(request: Request, action: str) -> Response:
    """Publish, extend or close: one form each on the consultation's page."""
    account = require_staff(request)
    consultation = await consultation_or_404(request, account)
    form = await read_form(request)
    dates = {name: form.get(name, "") for name in ("opens_at", "closes_at")}
    times, errors = read_times(request, form, ("opens_at", "closes_at"))
    try:
        if errors:
            raise services.ServiceError(errors)
        if action == "publish":
            await services.publish(account, consultation["id"], opens_at=times["opens_at"], closes_at=times["closes_at"])
            message = _("The consultation is published.")
        elif action == "extend":
            await services.extend_deadline(account, consultation["id"], closes_at=times["closes_at"], reason=form.get("reason", ""))
            message = _("The deadline is extended.")
        else:
            await services.close_early(account, consultation["id"], reason=form.get("reason", ""))
            message = _("The consultation is closed.")
    except services.ServiceError as error:
        errors = {(f"{action}_{k}" if k else k): v for k, v in error.errors.items()}
        context = edit_context(request, consultation, values=draft_values(consultation), errors=errors, dates={f"{action}_{k}": v for k, v in dates.items()} | {f"{action}_reason": form.get("reason", "")})
        return render(request, "manage/edit.html", context, status_code=error.status)
    flash(request, message)
    return redirect(f"/manage/{consultation['id']}")


def lifecycle_endpoint(action: str):
    async def endpoint(request: Request) -> Response:
        return await lifecycle_action(request, action)

    return endpoint


async def preview(request: Request) -> Response:
    account = require_staff(request)
    consultation = await consultation_or_404(request, account)
    return render(request, "manage/preview.html", {"c": consultation})


routes = [
    Route("/manage", consultation_list, name="manage"),
    Route("/manage/new", new_consultation, methods=["GET", "POST"], name="manage_new"),
    Route("/manage/{consultation_id:int}", edit_consultation, methods=["GET", "POST"], name="manage_edit"),
    Route("/manage/{consultation_id:int}/preview", preview, name="manage_preview"),
    Route("/manage/{consultation_id:int}/articles", add_article, methods=["POST"], name="manage_add_article"),
    *[
        Route(f"/manage/{{consultation_id:int}}/{action}", lifecycle_endpoint(action), methods=["POST"], name=f"manage_{action}")
        for action in ("publish", "extend", "close")
    ],
    Route("/manage/articles/{article_id:int}", edit_article, methods=["GET", "POST"], name="manage_article"),
    Route("/manage/articles/{article_id:int}/remove", remove_article, methods=["POST"], name="manage_remove_article"),
    Route("/manage/articles/{article_id:int}/move", move_article, methods=["POST"], name="manage_move_article"),
]
