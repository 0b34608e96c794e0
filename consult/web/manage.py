"""Officials' pages: write a draft (details and topic tags, articles, questions, PDF attachments), preview it,
publish or schedule it, extend or close it."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import i18n, queries, services
from consult.i18n import gettext as _
from consult.models import ConsultationKind, ConsultationStatus, ModerationMode, ParticipationRule, QuestionKind
from consult.permissions import Principal, can_act_for_agency
from consult.web.files import pdf_download
from consult.web.forms import Form, read_form, read_upload_form
from consult.web.middleware import BodyTooLarge
from consult.web.templating import flash, render
from consult.web.views import redirect, require_account

DRAFT_FIELDS = ("title", "summary", "kind", "language", "moderation_mode", "participation")
ARTICLE_FIELDS = ("label", "title", "body")
QUESTION_FIELDS = ("kind", "prompt", "options")
UPLOAD_PATH = r"/manage/\d+/attachments"


def body_allowances(settings) -> list[tuple[str, int]]:
    """The upload form's body may hold a whole attachment, plus an ordinary form's worth of fields."""
    return [(UPLOAD_PATH, settings.attachment_max_bytes + settings.max_body_bytes)]


def require_staff(request: Request) -> Principal:
    account = require_account(request)
    if not (account.is_admin or account.agency_ids):
        raise HTTPException(403)
    return account


async def consultation_or_404(request: Request, account: Principal) -> dict[str, Any]:
    """The consultation with everything the officials' pages show of it: articles, topics, questions, attachments."""
    consultation = await queries.consultation_for_editing(request.path_params["consultation_id"])
    if consultation is None:
        raise HTTPException(404)
    if not can_act_for_agency(account, consultation["agency_id"]):
        raise HTTPException(403)
    consultation["topics"] = await queries.consultation_topics(consultation["id"])
    consultation["questions"] = await queries.consultation_questions(consultation["id"])
    consultation["attachments"] = await queries.consultation_attachments(consultation["id"])
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
        "participation_rules": [
            (ParticipationRule.ACCOUNTS.value, _("Anyone with an account")),
            (ParticipationRule.VERIFIED.value, _("Only people whose identity is verified (one person, one voice)")),
        ],
        "languages": list(i18n.LANGUAGE_NAMES.items()),
        "question_kinds": [
            (QuestionKind.SINGLE.value, _("Single choice: one option")),
            (QuestionKind.MULTIPLE.value, _("Multiple choice: any number of options")),
            (QuestionKind.SCALE.value, _("Scale from 1 to 5")),
            (QuestionKind.TEXT.value, _("Free text")),
        ],
    }


def topic_options(topics: list[dict[str, Any]]) -> list[tuple[str, str]]:
    english = i18n.current_language() == "en"
    options = [(str(t["id"]), t["name_en"] if english else t["name_vi"]) for t in topics]
    return sorted(options, key=lambda option: option[1].casefold())


def chosen_topics(form: Form) -> list[int]:
    # Anything but an id becomes 0, which no topic has: the service says to choose from the list.
    return [int(value) if value.isdigit() and len(value) < 10 else 0 for value in form.getlist("topics")]


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
    context = {"agencies": agencies, "topic_choices": topic_options(await queries.topics()), **choices()}
    if request.method == "GET":
        values = {"language": i18n.current_language(), "moderation_mode": "post", "participation": "accounts", "topics": []}
        return render(request, "manage/new.html", {**context, "values": values})
    form = await read_form(request)
    values = {name: form.get(name, "") for name in (*DRAFT_FIELDS, "agency")}
    values["participation"] = form.get("participation", ParticipationRule.ACCOUNTS.value)  # forms from before the setting existed
    values["topics"] = form.getlist("topics")
    agency = values["agency"]
    try:
        consultation = await services.create_draft(
            account, agency_id=int(agency) if agency.isdigit() else None, topic_ids=chosen_topics(form),
            **{k: values[k] for k in DRAFT_FIELDS},
        )
    except services.ServiceError as error:
        return render(request, "manage/new.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, _("Draft created. Add its articles, then preview and publish it."))
    return redirect(f"/manage/{consultation.id}")


async def edit_context(request: Request, consultation: dict[str, Any], **extra: Any) -> dict[str, Any]:
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
        "question_values": {"question_kind": QuestionKind.SINGLE.value},
        "attachment_values": {},
        "dates": {},
        "topic_choices": topic_options(await queries.topics()),
        "attachment_limit": i18n.file_size(request.app.state.settings.attachment_max_bytes),
        **choices(),
        **extra,
    }


def draft_values(consultation: dict[str, Any]) -> dict[str, Any]:
    """The stored fields as the form shows them (choices by their value, topics by their ids)."""
    values: dict[str, Any] = {name: getattr(consultation[name], "value", consultation[name]) for name in DRAFT_FIELDS}
    values["topics"] = [str(topic["id"]) for topic in consultation["topics"]]
    return values


async def edit_consultation(request: Request) -> Response:
    account = require_staff(request)
    consultation = await consultation_or_404(request, account)
    if request.method == "GET":
        return render(request, "manage/edit.html", await edit_context(request, consultation, values=draft_values(consultation)))
    form = await read_form(request)
    values: dict[str, Any] = {name: form.get(name, "") for name in DRAFT_FIELDS}
    values["participation"] = form.get("participation", ParticipationRule.ACCOUNTS.value)  # forms from before the setting existed
    values["topics"] = form.getlist("topics")
    try:
        await services.update_draft(account, consultation["id"], topic_ids=chosen_topics(form), **{k: values[k] for k in DRAFT_FIELDS})
    except services.ServiceError as error:
        context = await edit_context(request, consultation, values=values, errors=error.errors)
        return render(request, "manage/edit.html", context, status_code=error.status)
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
        context = await edit_context(request, consultation, values=draft_values(consultation), article_values=article_values, errors=errors)
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


def draft_item_action(kind: str, load, act, done: str | None):
    """POST endpoints that remove or move an article or a question of a draft: one form, then back to the
    list with the outcome as a message (a refusal, such as after opening, included)."""

    async def endpoint(request: Request) -> Response:
        account = require_staff(request)
        item = await load(request, account)
        form = await read_form(request)
        back = f"/manage/{item['consultation_id']}#{kind}s"
        try:
            await act(account, item["id"], form)
        except services.ServiceError as error:
            flash(request, next(iter(error.errors.values())))
            return redirect(back)
        if done:
            flash(request, done())
        return redirect(back)

    return endpoint


def step_of(form: dict[str, str]) -> int:
    return -1 if form.get("direction") == "up" else 1


remove_article = draft_item_action(
    "article", article_or_404, lambda account, item_id, form: services.remove_article(account, item_id), lambda: _("Article removed.")
)
move_article = draft_item_action(
    "article", article_or_404, lambda account, item_id, form: services.move_article(account, item_id, step_of(form)), None
)


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
            await services.extend_deadline(account, request.app.state.settings, consultation["id"], closes_at=times["closes_at"], reason=form.get("reason", ""))
            message = _("The deadline is extended.")
        else:
            await services.close_early(account, request.app.state.settings, consultation["id"], reason=form.get("reason", ""))
            message = _("The consultation is closed.")
    except services.ServiceError as error:
        errors = {(f"{action}_{k}" if k else k): v for k, v in error.errors.items()}
        context = await edit_context(request, consultation, values=draft_values(consultation), errors=errors, dates={f"{action}_{k}": v for k, v in dates.items()} | {f"{action}_reason": form.get("reason", "")})
        return render(request, "manage/edit.html", context, status_code=error.status)
    flash(request, message)
    return redirect(f"/manage/{consultation['id']}")


def lifecycle_endpoint(action: str):
    async def endpoint(request: Request) -> Response:
        return await lifecycle_action(request, action)

    return endpoint


def question_input(form: Form) -> dict[str, Any]:
    """The question form as the service takes it: options one per line, required as a checkbox."""
    return {
        "kind": form.get("kind", ""),
        "prompt": form.get("prompt", ""),
        "options": form.get("options", "").splitlines(),
        "required": form.get("required") == "yes",
    }


def question_typed(form: Form) -> dict[str, Any]:
    """The question form as typed, to show it again."""
    return {**{name: form.get(name, "") for name in QUESTION_FIELDS}, "required": form.get("required") == "yes"}


async def add_question(request: Request) -> Response:
    account = require_staff(request)
    consultation = await consultation_or_404(request, account)
    form = await read_form(request)
    try:
        await services.add_question(account, consultation["id"], **question_input(form))
    except services.ServiceError as error:
        errors = {("question_" + k if k else k): v for k, v in error.errors.items()}
        question_values = {f"question_{k}": v for k, v in question_typed(form).items()}
        context = await edit_context(request, consultation, values=draft_values(consultation), question_values=question_values, errors=errors)
        return render(request, "manage/edit.html", context, status_code=error.status)
    flash(request, _("Question added."))
    return redirect(f"/manage/{consultation['id']}#questions")


async def question_or_404(request: Request, account: Principal) -> dict[str, Any]:
    question = await queries.question_for_editing(request.path_params["question_id"])
    if question is None:
        raise HTTPException(404)
    if not can_act_for_agency(account, question["consultation__agency_id"]):
        raise HTTPException(403)
    return question


def question_page(request: Request, question: dict[str, Any], values: dict[str, Any], errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    context = {"question": question, "values": values, "errors": errors or {}, **choices()}
    return render(request, "manage/question.html", context, status_code=status_code)


async def edit_question(request: Request) -> Response:
    account = require_staff(request)
    question = await question_or_404(request, account)
    if request.method == "GET":
        values = {"kind": question["kind"], "prompt": question["prompt"], "options": "\n".join(question["options"]), "required": question["required"]}
        return question_page(request, question, values)
    form = await read_form(request)
    try:
        await services.update_question(account, question["id"], **question_input(form))
    except services.ServiceError as error:
        return question_page(request, question, question_typed(form), error.errors, error.status)
    flash(request, _("Question saved."))
    return redirect(f"/manage/{question['consultation_id']}#questions")


remove_question = draft_item_action(
    "question", question_or_404, lambda account, item_id, form: services.remove_question(account, item_id), lambda: _("Question removed.")
)
move_question = draft_item_action(
    "question", question_or_404, lambda account, item_id, form: services.move_question(account, item_id, step_of(form)), None
)


async def attachment_error_page(request: Request, consultation: dict[str, Any], errors: dict[str, str], title: str, status: int) -> Response:
    errors = {("attachment_" + k if k else k): v for k, v in errors.items()}
    context = await edit_context(request, consultation, values=draft_values(consultation), attachment_values={"attachment_title": title}, errors=errors)
    return render(request, "manage/edit.html", context, status_code=status)


async def add_attachment(request: Request) -> Response:
    account = require_staff(request)
    consultation = await consultation_or_404(request, account)
    settings = request.app.state.settings
    try:
        async with read_upload_form(request) as form:
            upload = form.files.get("file")
            await services.add_attachment(
                settings, account, consultation["id"], title=form.get("title", ""),
                filename=(upload.filename or "") if upload else "", source=upload.file if upload else None,
            )
    except BodyTooLarge:
        # The body was refused before it was read, so there is nothing typed to keep.
        return await attachment_error_page(request, consultation, {"file": services.attachment_too_large_message(settings)}, "", 413)
    except services.ServiceError as error:
        return await attachment_error_page(request, consultation, error.errors, form.get("title", ""), error.status)
    flash(request, _("Attachment added."))
    return redirect(f"/manage/{consultation['id']}#attachments")


async def attachment_or_404(request: Request, account: Principal) -> dict[str, Any]:
    attachment = await queries.attachment_for_managing(request.path_params["attachment_id"])
    if attachment is None:
        raise HTTPException(404)
    if not can_act_for_agency(account, attachment["consultation__agency_id"]):
        raise HTTPException(403)
    return attachment


async def remove_attachment(request: Request) -> Response:
    account = require_staff(request)
    attachment = await attachment_or_404(request, account)
    await read_form(request)
    try:
        await services.remove_attachment(request.app.state.settings, account, attachment["id"])
    except services.ServiceError as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(f"/manage/{attachment['consultation_id']}#attachments")
    flash(request, _("Attachment removed."))
    return redirect(f"/manage/{attachment['consultation_id']}#attachments")


async def download_attachment(request: Request) -> Response:
    """Officials read their draft's files before anyone else can."""
    account = require_staff(request)
    attachment = await attachment_or_404(request, account)
    return pdf_download(request.app.state.settings, attachment, "private, no-store")


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
    Route("/manage/{consultation_id:int}/questions", add_question, methods=["POST"], name="manage_add_question"),
    Route("/manage/questions/{question_id:int}", edit_question, methods=["GET", "POST"], name="manage_question"),
    Route("/manage/questions/{question_id:int}/remove", remove_question, methods=["POST"], name="manage_remove_question"),
    Route("/manage/questions/{question_id:int}/move", move_question, methods=["POST"], name="manage_move_question"),
    Route("/manage/{consultation_id:int}/attachments", add_attachment, methods=["POST"], name="manage_add_attachment"),
    Route("/manage/attachments/{attachment_id:int}", download_attachment, name="manage_attachment"),
    Route("/manage/attachments/{attachment_id:int}/remove", remove_attachment, methods=["POST"], name="manage_remove_attachment"),
]
