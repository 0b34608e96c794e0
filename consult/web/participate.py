"""Citizens in a consultation: read it article by article with its comments, and comment, reply,
vote, flag, answer the questions, follow; their own participation page, data export and deletion.

Reading needs no account; acting needs a signed-in account with a verified e-mail. Each form posts
to its own address and, on bad input, shows a page with just that form, its errors and what was typed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import participation, queries, reviewing, satisfaction
from consult.i18n import gettext as _
from consult.models import CommentStatus, ConsultationStatus, FlagReason, QuestionKind, SatisfactionQuestion, Stance
from consult.permissions import Principal, can_participate
from consult.services import ServiceError
from consult.web import pagecache
from consult.web.forms import read_form, read_form_lists
from consult.web.templating import flag_reason_label, flash, render
from consult.web.views import account_of, rate_limited, redirect, require_account, settings_of, too_many

CLOSED_STATES = (ConsultationStatus.CLOSED, ConsultationStatus.OUTCOME_PUBLISHED, ConsultationStatus.ARCHIVED)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


async def public_or_404(slug: str) -> dict[str, Any]:
    consultation = await queries.public_consultation(slug)
    if consultation is None:
        raise HTTPException(404)
    return consultation


def taking_part(consultation: dict[str, Any], account: Principal | None) -> bool:
    """Whether the forms to comment, vote and answer are shown to this person (the services check it again)."""
    return can_participate(account) and participation.may_take_part(account, consultation["participation"])


def stance_choices() -> list[tuple[str, str]]:
    return [(Stance.SUPPORT.value, _("I support it")), (Stance.OPPOSE.value, _("I oppose it")), (Stance.CHANGE.value, _("I suggest a change"))]


def flag_choices() -> list[tuple[str, str]]:
    return [(reason.value, flag_reason_label(reason)) for reason in FlagReason]


async def comments_context(
    consultation_id: int, account: Principal | None, article_id: int | None, base_url: str, order: str | None, after: str | None
) -> dict[str, Any]:
    """The comment list of a page: one keyset page in the chosen order, the viewer's votes on it."""
    order = order if order in queries.COMMENT_ORDERS else "newest"
    page = await queries.published_comments(consultation_id, article_id=article_id, order=order, cursor=after)
    votes: dict[int, str] = {}
    if account is not None and page.rows:
        ids = [row["id"] for row in page.rows] + [reply["id"] for row in page.rows for reply in row["replies"]]
        votes = await queries.own_votes(account.id, ids)
    next_url = f"{base_url}?{urlencode({'order': order, 'after': page.next_cursor})}#comments" if page.next_cursor else None
    return {"comments": page.rows, "order": order, "next_url": next_url, "first_page": not after, "own_votes": votes}


async def consultation_context(consultation: dict[str, Any], account: Principal | None, order: str | None = None, after: str | None = None) -> dict[str, Any]:
    """Everything the consultation page shows, for this viewer (None: a visitor who is not signed in)."""
    status = consultation["status"]
    questions = consultation["questions"]
    context = {
        "c": consultation,
        "tallies": await queries.comment_tallies(consultation["id"]),
        "topics": consultation["topics"],
        "attachments": consultation["attachments"],
        "questions": questions,
        "is_open": status is ConsultationStatus.OPEN,
        "can_take_part": status is ConsultationStatus.OPEN and taking_part(consultation, account),
        "following": account is not None and await queries.is_following(account.id, consultation["id"]),
        "stances": stance_choices(),
        "answers": {},
        "results": None,
    }
    if questions and account is not None and status is ConsultationStatus.OPEN:
        context["answers"] = await queries.own_response(account.id, consultation["id"])
    if questions and status in CLOSED_STATES:
        context["results"] = await queries.question_results(consultation["id"])
    context["outcome"] = await queries.published_outcome(consultation["id"]) if status is ConsultationStatus.OUTCOME_PUBLISHED else None
    context["ask_outcome"] = bool(context["outcome"]) and await satisfaction.should_ask(account, consultation["id"], SatisfactionQuestion.OUTCOME)
    if context["ask_outcome"]:
        context["outcome_question"] = satisfaction.question_text(SatisfactionQuestion.OUTCOME)
        context["outcome_choices"] = satisfaction.outcome_choices()
    context.update(await comments_context(consultation["id"], account, None, f"/consultations/{consultation['slug']}", order, after))
    return context


async def consultation_page(request: Request) -> Response:
    return await pagecache.for_visitors(request, lambda: build_consultation_page(request))


async def build_consultation_page(request: Request) -> Response:
    consultation = await public_or_404(request.path_params["slug"])
    params = request.query_params
    account = account_of(request)
    context = await consultation_context(consultation, account, params.get("order"), params.get("after"))
    return render(request, "consultations/page.html", {**context, **await survey_context(request, account, consultation)})


async def article_page(request: Request) -> Response:
    return await pagecache.for_visitors(request, lambda: build_article_page(request))


async def build_article_page(request: Request) -> Response:
    consultation = await public_or_404(request.path_params["slug"])
    article = next((a for a in consultation["articles"] if a["id"] == request.path_params["article_id"]), None)
    if article is None:
        raise HTTPException(404)
    base = f"/consultations/{consultation['slug']}/articles/{article['id']}"
    account = account_of(request)
    context = {
        "c": consultation,
        "article": article,
        "tally": (await queries.comment_tallies(consultation["id"])).get(article["id"]),
        "is_open": consultation["status"] is ConsultationStatus.OPEN,
        "can_take_part": consultation["status"] is ConsultationStatus.OPEN and taking_part(consultation, account),
        "stances": stance_choices(),
        "values": {"article": str(article["id"])},
    }
    params = request.query_params
    context.update(await comments_context(consultation["id"], account, article["id"], base, params.get("order"), params.get("after")))
    context.update(await survey_context(request, account, consultation))
    return render(request, "consultations/article.html", context)


# --- acting -------------------------------------------------------------------------------------

COMMENT_FIELDS = ("article", "stance", "body", "proposed_wording")


async def comment(request: Request) -> Response:
    """GET: the comment form on its own (from "Comment on this article", or without JavaScript after
    an error). POST: store the comment and send the person back to the page, where it shows once screened."""
    account = require_account(request)
    slug = request.path_params["slug"]
    if request.method == "GET":
        consultation = await public_or_404(slug)
        article = request.query_params.get("article", "")
        context = {"c": consultation, "stances": stance_choices(), "can_take_part": taking_part(consultation, account)}
        return render(request, "consultations/comment.html", {**context, "values": {"article": article if article.isdigit() else ""}})
    # The hot path: the service reads the consultation once; the page is only loaded again to show an error.
    form = await read_form(request)
    values = {name: form.get(name, "") for name in COMMENT_FIELDS}
    settings = settings_of(request)
    article = values["article"]
    try:
        if await rate_limited(request, settings.rate_limit_comment, "comment", str(account.id)):
            raise TooMany(settings.rate_limit_comment)
        created = await participation.post_comment(
            account, settings, slug=slug, body=values["body"], stance=values["stance"], proposed_wording=values["proposed_wording"],
            # A forged, non-numeric article is no article of this consultation: the service says so.
            article_id=(_int(article) or -1) if article else None,
        )
    except (ServiceError, TooMany) as error:
        consultation = await public_or_404(slug)
        context = {"c": consultation, "stances": stance_choices(), "can_take_part": taking_part(consultation, account)}
        if isinstance(error, TooMany):
            return too_many(request, "consultations/comment.html", values, error.rule, **context)
        return render(request, "consultations/comment.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, received_message(created.moderation_mode))
    _ask_ease(request, slug, "comment")
    target = f"/consultations/{slug}/articles/{created.article_id}" if created.article_id else f"/consultations/{slug}"
    return redirect(f"{target}#comments")


def _ask_ease(request: Request, slug: str, after: str) -> None:
    """Just after a comment or answers: ask on the page the person is sent back to. Whether they answered
    already is checked there (survey_context), not here: posting a comment stays as cheap as it was."""
    request.session["survey"] = {"slug": slug, "after": after}


async def survey_context(request: Request, account: Principal | None, consultation: dict[str, Any]) -> dict[str, Any]:
    """The satisfaction question of the base page, once, when this consultation's page follows a comment or
    answers and the person has not answered it yet."""
    asked = request.session.get("survey") if "session" in request.scope else None
    if not asked or asked.get("slug") != consultation["slug"] or account is None:
        return {}
    request.session.pop("survey")
    if await satisfaction.answered(account.id, consultation["id"], SatisfactionQuestion.EASE):
        return {}
    return {"survey": asked}


class TooMany(Exception):
    def __init__(self, rule: str):
        super().__init__(rule)
        self.rule = rule


def received_message(moderation_mode: str) -> str:
    if moderation_mode == "pre":
        return _("Thank you. Your comment is received; a moderator will check it before it is published.")
    return _("Thank you. Your comment is received and will appear once it has been checked, usually within seconds.")


async def comment_or_404(request: Request) -> dict[str, Any]:
    found = await queries.comment_for_action(request.path_params["comment_id"])
    if found is None:
        raise HTTPException(404)
    return found


def comment_url(found: dict[str, Any]) -> str:
    base = f"/consultations/{found['consultation__slug']}"
    return (f"{base}/articles/{found['article_id']}" if found["article_id"] else base) + "#comments"


async def reply(request: Request) -> Response:
    account = require_account(request)
    found = await comment_or_404(request)
    if found["status"] != CommentStatus.PUBLISHED:
        raise HTTPException(404)
    context = {"parent": found, "can_take_part": can_participate(account)}
    if request.method == "GET":
        return render(request, "consultations/reply.html", context)
    form = await read_form(request)
    values = {"body": form.get("body", "")}
    settings = settings_of(request)
    if await rate_limited(request, settings.rate_limit_comment, "comment", str(account.id)):
        return too_many(request, "consultations/reply.html", values, settings.rate_limit_comment, **context)
    try:
        await participation.post_comment(account, settings, found["consultation_id"], body=values["body"], parent_id=found["id"])
    except ServiceError as error:
        return render(request, "consultations/reply.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, _("Thank you. Your reply is received and will appear once it has been checked."))
    return redirect(comment_url(found))


async def vote(request: Request) -> Response:
    account = require_account(request)
    found = await comment_or_404(request)
    form = await read_form(request)
    settings = settings_of(request)
    back = comment_url(found).replace("#comments", f"#comment-{found['id']}")
    if await rate_limited(request, settings.rate_limit_vote, "vote", str(account.id)):
        flash(request, _("You have voted many times in a short while. Wait a minute and try again."))
        return redirect(back)
    try:
        await participation.vote(account, found["id"], form.get("value", ""))
    except ServiceError as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(back)
    flash(request, _("Your vote is saved. You can change it at any time while the consultation is open."))
    return redirect(back)


async def flag(request: Request) -> Response:
    account = require_account(request)
    found = await comment_or_404(request)
    if found["status"] != CommentStatus.PUBLISHED:
        raise HTTPException(404)
    context = {"comment": found, "reasons": flag_choices()}
    if request.method == "GET":
        return render(request, "consultations/flag.html", context)
    form = await read_form(request)
    values = {"reason": form.get("reason", ""), "note": form.get("note", "")}
    settings = settings_of(request)
    if await rate_limited(request, settings.rate_limit_flag, "flag", str(account.id)):
        return too_many(request, "consultations/flag.html", values, settings.rate_limit_flag, **context)
    try:
        await participation.flag(account, settings, found["id"], reason=values["reason"], note=values["note"])
    except ServiceError as error:
        return render(request, "consultations/flag.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, _("Thank you. The moderators will look at this comment."))
    return redirect(comment_url(found))


async def appeal(request: Request) -> Response:
    """The author asks, once, for another moderator to look at a rejection; the page only shows to them."""
    account = require_account(request)
    found = await comment_or_404(request)
    if found["author_id"] != account.id:
        raise HTTPException(404)
    context = {"comment": found}
    if request.method == "GET":
        return render(request, "consultations/appeal.html", context)
    form = await read_form(request)
    values = {"note": form.get("note", "")}
    try:
        await reviewing.appeal(account, settings_of(request), found["id"], note=values["note"])
    except ServiceError as error:
        return render(request, "consultations/appeal.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, _("Your appeal is sent. A different moderator will decide, and you will hear of it by e-mail."))
    return redirect(f"/account/participation#my-comment-{found['id']}")


async def withdraw(request: Request) -> Response:
    account = require_account(request)
    found = await comment_or_404(request)
    await read_form(request)
    try:
        await participation.withdraw_comment(account, found["id"])
    except ServiceError as error:
        flash(request, next(iter(error.errors.values())))
        return redirect("/account/participation")
    flash(request, _("Your comment is withdrawn: it no longer shows on the consultation."))
    return redirect("/account/participation")


async def respond(request: Request) -> Response:
    """GET: the questions on their own page, with the person's earlier answers. POST: save them."""
    account = require_account(request)
    consultation = await public_or_404(request.path_params["slug"])
    questions = consultation["questions"]
    if not questions:
        raise HTTPException(404)
    context = {"c": consultation, "questions": questions, "can_take_part": taking_part(consultation, account)}
    if request.method == "GET":
        return render(request, "consultations/respond.html", {**context, "answers": await queries.own_response(account.id, consultation["id"])})
    form = await read_form_lists(request)
    try:
        await participation.respond(account, consultation["id"], form)
    except ServiceError as error:
        answers = {q["id"]: typed_answers(q, form.get(f"q{q['id']}", [])) for q in questions}
        return render(request, "consultations/respond.html", {**context, "answers": answers, "errors": error.errors}, status_code=error.status)
    flash(request, _("Your answers are saved. You can change them until the consultation closes."))
    _ask_ease(request, consultation["slug"], "response")
    return redirect(f"/consultations/{consultation['slug']}#questions")


async def satisfaction_answer(request: Request) -> Response:
    """The optional satisfaction question. GET: on a page of its own (?question=ease or outcome). POST: store the
    anonymous answer, or nothing with "No thanks", and go back to the consultation."""
    account = require_account(request)
    consultation = await public_or_404(request.path_params["slug"])
    source = request.query_params if request.method == "GET" else await read_form(request)
    try:
        question = SatisfactionQuestion(source.get("question", ""))
    except ValueError:
        raise HTTPException(404) from None
    after = source.get("after", "") if source.get("after", "") in satisfaction.ASKED_AFTER else "comment"
    back = f"/consultations/{consultation['slug']}" + ("#outcome" if question is SatisfactionQuestion.OUTCOME else "")
    context = {"c": consultation, "question": question.value, "legend": satisfaction.question_text(question),
               "options": satisfaction.choices(question), "after": "outcome" if question is SatisfactionQuestion.OUTCOME else after}
    if request.method == "GET":
        return render(request, "consultations/satisfaction.html", context)
    if source.get("skip"):
        return redirect(back)
    values = {"satisfaction": source.get("satisfaction", ""), "satisfaction_note": source.get("satisfaction_note", "")}
    try:
        await satisfaction.answer(account, settings_of(request), consultation["id"], question=question.value,
                                  value=values["satisfaction"], note=values["satisfaction_note"], asked_after=context["after"])
    except ServiceError as error:
        if "" in error.errors:  # not a matter of what was typed: already answered, not a participant, no outcome yet
            flash(request, error.errors[""])
            return redirect(back)
        return render(request, "consultations/satisfaction.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    flash(request, _("Thank you for your answer."))
    return redirect(back)


def typed_answers(question: dict[str, Any], raw: list[str]) -> list[Any]:
    """What was typed, in the form the answer fields show it (numbers for options, the text)."""
    if QuestionKind(question["kind"]) is QuestionKind.TEXT:
        return raw[:1]
    return [int(value) for value in raw if value.isdigit() and len(value) < 4]


async def follow(request: Request) -> Response:
    account = require_account(request)
    consultation = await public_or_404(request.path_params["slug"])
    form = await read_form(request)
    following = form.get("follow") == "1"
    await participation.follow(account, consultation["id"], following)
    flash(request, _("You follow this consultation: we will e-mail you when it is extended, closed or answered.") if following else _("You no longer follow this consultation."))
    return redirect(f"/consultations/{consultation['slug']}")


# --- the person's own participation -------------------------------------------------------------


async def my_participation(request: Request) -> Response:
    account = require_account(request)
    page = await queries.my_comments(account.id, request.query_params.get("after"))
    return render(
        request,
        "accounts/participation.html",
        {
            "comments": page.rows,
            "next_url": f"/account/participation?after={page.next_cursor}" if page.next_cursor else None,
            "votes": await queries.my_votes(account.id),
            "responses": await queries.my_responses(account.id),
            "follows": await queries.my_follows(account.id),
        },
    )


async def export(request: Request) -> Response:
    account = require_account(request)
    data = await participation.export_data(account)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="consult-my-data.json"', "Cache-Control": "no-store"},
    )


async def delete_account(request: Request) -> Response:
    account = require_account(request)
    context = {"removes_comments": settings_of(request).delete_account_removes_comments}
    if request.method == "GET":
        return render(request, "accounts/delete.html", context)
    form = await read_form(request)
    values = {"confirm_email": form.get("confirm_email", "")}
    try:
        await participation.delete_account(account, settings_of(request), confirm_email=values["confirm_email"])
    except ServiceError as error:
        return render(request, "accounts/delete.html", {**context, "values": values, "errors": error.errors}, status_code=error.status)
    request.session.clear()
    flash(request, _("Your account and your data are deleted."))
    return redirect("/")


routes = [
    Route("/consultations/{slug:str}", consultation_page, name="consultation"),
    Route("/consultations/{slug:str}/articles/{article_id:int}", article_page, name="consultation_article"),
    Route("/consultations/{slug:str}/comment", comment, methods=["GET", "POST"], name="comment"),
    Route("/consultations/{slug:str}/respond", respond, methods=["GET", "POST"], name="respond"),
    Route("/consultations/{slug:str}/follow", follow, methods=["POST"], name="follow"),
    Route("/consultations/{slug:str}/satisfaction", satisfaction_answer, methods=["GET", "POST"], name="satisfaction"),
    Route("/comments/{comment_id:int}/reply", reply, methods=["GET", "POST"], name="reply"),
    Route("/comments/{comment_id:int}/vote", vote, methods=["POST"], name="vote"),
    Route("/comments/{comment_id:int}/flag", flag, methods=["GET", "POST"], name="flag"),
    Route("/comments/{comment_id:int}/withdraw", withdraw, methods=["POST"], name="withdraw"),
    Route("/comments/{comment_id:int}/appeal", appeal, methods=["GET", "POST"], name="appeal"),
    Route("/account/participation", my_participation, name="participation"),
    Route("/account/export", export, name="export"),
    Route("/account/delete", delete_account, methods=["GET", "POST"], name="delete_account"),
]
