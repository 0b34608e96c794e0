"""What citizens do in a consultation: comment, reply, vote, answer the questions, flag, follow,
withdraw; and what they do with their own data: export it, delete their account.

Same shape as consult.services: validate, check permission, one transaction, enqueue follow-up jobs
after the commit, raise ServiceError with messages in the current language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from consult.i18n import gettext as _
from consult.models import (
    Account,
    Answer,
    Comment,
    CommentStatus,
    Consent,
    Consultation,
    ConsultationStatus,
    Flag,
    FlagReason,
    Follow,
    IdentityLink,
    ParticipationRule,
    Question,
    QuestionKind,
    QuestionResponse,
    ReviewReason,
    SatisfactionGiven,
    Stance,
    Vote,
    VoteValue,
)
from consult import queries
from consult.permissions import Principal, can_participate
from consult.queue import enqueue
from consult.services import PermissionDenied, ServiceError, Validator, _audit, now
from consult.settings import Settings
from consult.text.sanitize import comment_text, plain_text

SCREEN_JOB = "screen_comment"
FLAG_NOTE_MAX = 1000
UNSCREENED_AFTER = timedelta(minutes=1)


def screen_job_id(comment_id: int) -> str:
    return f"screen_comment:{comment_id}"


def _participant(actor: Principal | None) -> Principal:
    if actor is None:
        raise PermissionDenied()
    if not can_participate(actor):
        raise ServiceError({"": _("Confirm your e-mail address before taking part; we sent you a link")}, 403)
    return actor


async def _open_consultation(consultation_id: int | None = None, *, slug: str | None = None, taking_part: Principal | None = None) -> dict[str, Any]:
    """The consultation's id, slug, status and moderation mode, if it is open (and, for the person
    ``taking_part``, open to them); a clear refusal otherwise."""
    consultation = await queries.consultation_state(consultation_id, slug)
    if consultation is None or consultation["status"] is ConsultationStatus.DRAFT:
        raise ServiceError({"": _("This consultation does not exist")}, 404)
    if consultation["status"] is not ConsultationStatus.OPEN:
        if consultation["status"] is ConsultationStatus.SCHEDULED:
            raise ServiceError({"": _("This consultation is not open yet; you can take part once it opens")}, 409)
        raise ServiceError({"": _("This consultation is closed; comments, votes and answers are no longer accepted")}, 409)
    if taking_part is not None and not may_take_part(taking_part, consultation["participation"]):
        raise ServiceError({"": _("Only people whose identity is verified may take part in this consultation (one person, one voice). "
                                  "Sign in with your identity provider, or link it to your account.")}, 403)
    return consultation


def may_take_part(actor: Principal | None, rule: ParticipationRule) -> bool:
    """Whether the consultation's rule lets this account comment, vote and answer (the e-mail check is _participant's)."""
    return rule is not ParticipationRule.VERIFIED or (actor is not None and actor.identity_verified)


async def _has_article(consultation: dict[str, Any], article_id: int) -> bool:
    # The articles of an opened consultation are read once per process (queries.consultation_parts).
    parts = await queries.consultation_parts(consultation)
    return any(article["id"] == article_id for article in parts["articles"])


def _check_text(v: Validator, name: str, value: str, limit: int, *, empty: str) -> str:
    text = comment_text(value)
    if not text:
        v.fail(name, empty)
    elif len(text) > limit:
        v.fail(name, _("Write %(max)s characters or fewer (you wrote %(count)s)", max=limit, count=len(text)))
    return text


class Posted(NamedTuple):
    id: int
    article_id: int | None
    moderation_mode: str  # what the person is told: checked by a moderator first, or within seconds
    consultation_id: int


# --- comments -----------------------------------------------------------------------------------


async def post_comment(
    actor: Principal | None,
    settings: Settings,
    consultation_id: int | None = None,
    *,
    slug: str | None = None,
    body: str,
    stance: str = "",
    article_id: int | None = None,
    parent_id: int | None = None,
    proposed_wording: str = "",
) -> Posted:
    """A comment on the whole draft or an article, or a reply to a published comment. It is stored
    as pending first; the screening job, enqueued after the commit, decides whether it shows."""
    actor = _participant(actor)
    consultation = await _open_consultation(consultation_id, slug=slug, taking_part=actor)
    v = Validator({})
    limit = settings.comment_max_length
    parent = None
    if parent_id is not None:
        parent = await Comment.get_or_none(id=parent_id, consultation_id=consultation["id"])
        if parent is None or parent.status is not CommentStatus.PUBLISHED:
            raise ServiceError({"": _("The comment you are replying to does not exist or is not published")}, 404)
        if parent.parent_id is not None:
            raise ServiceError({"": _("Replies cannot be answered in turn; reply to the comment above instead")}, 400)
        article_id, stance_value, wording = parent.article_id, None, None
        body = _check_text(v, "body", body, limit, empty=_("Write your reply"))
    else:
        if article_id is not None and not await _has_article(consultation, article_id):
            raise ServiceError({"article": _("This article is not part of this consultation")}, 400)
        stance_value = stance if stance in {s.value for s in Stance} else None
        if stance_value is None:
            v.fail("stance", _("Choose whether you support, oppose or suggest a change"))
        body = _check_text(v, "body", body, limit, empty=_("Write your comment"))
        wording = comment_text(proposed_wording) or None
        if stance_value == Stance.CHANGE.value and wording is None:
            v.fail("proposed_wording", _("Write the wording you propose"))
        elif wording and len(wording) > limit:
            v.fail("proposed_wording", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=limit, count=len(wording)))
        if stance_value != Stance.CHANGE.value:
            wording = None
    v.raise_if_any()
    comment = await Comment.create(
        consultation_id=consultation["id"],
        article_id=article_id,
        parent_id=parent.id if parent else None,
        author_id=actor.id,
        stance=stance_value,
        body=body,
        proposed_wording=wording,
    )
    # Written first, then screened: if the queue is down, the sweep re-enqueues it, so it is never lost.
    await enqueue(SCREEN_JOB, comment.id, _job_id=screen_job_id(comment.id))
    return Posted(comment.id, comment.article_id, getattr(consultation["moderation_mode"], "value", consultation["moderation_mode"]),
                  consultation["id"])


async def unscreened_comment_ids(older_than: timedelta = UNSCREENED_AFTER, limit: int = 1000) -> list[int]:
    cutoff = now() - older_than
    return await Comment.filter(status=CommentStatus.PENDING, screened_at=None, created_at__lt=cutoff).order_by("id").limit(limit).values_list("id", flat=True)


async def withdraw_comment(actor: Principal | None, comment_id: int) -> Comment:
    actor = _participant(actor)
    comment = await Comment.get_or_none(id=comment_id)
    if comment is None or comment.author_id != actor.id:
        raise ServiceError({"": _("You can only withdraw your own comments")}, 403 if comment else 404)
    await _open_consultation(comment.consultation_id)
    if comment.status not in (CommentStatus.PENDING, CommentStatus.PUBLISHED):
        raise ServiceError({"": _("This comment cannot be withdrawn any more")}, 409)
    changed = await Comment.filter(id=comment.id, status__in=(CommentStatus.PENDING, CommentStatus.PUBLISHED)).update(status=CommentStatus.WITHDRAWN)
    if not changed:
        raise ServiceError({"": _("This comment cannot be withdrawn any more")}, 409)
    return await Comment.get(id=comment.id)


async def _published_comment(comment_id: int, taking_part: Principal | None = None) -> Comment:
    comment = await Comment.get_or_none(id=comment_id)
    if comment is None or comment.status is not CommentStatus.PUBLISHED:
        raise ServiceError({"": _("This comment does not exist or is no longer published")}, 404)
    await _open_consultation(comment.consultation_id, taking_part=taking_part)
    return comment


COUNTERS = {VoteValue.AGREE: "agree_count", VoteValue.DISAGREE: "disagree_count", VoteValue.PASS: "pass_count"}


async def vote(actor: Principal | None, comment_id: int, value: str) -> VoteValue:
    """Agree, disagree or pass; one vote per account per comment, which a second vote changes.
    People do not vote on their own comments: it would only inflate agreement."""
    actor = _participant(actor)
    if value not in {v.value for v in VoteValue}:
        raise ServiceError({"value": _("Choose agree, disagree or pass")})
    choice = VoteValue(value)
    comment = await _published_comment(comment_id, taking_part=actor)
    if comment.author_id == actor.id:
        raise ServiceError({"": _("You cannot vote on your own comment")}, 409)
    for _attempt in range(2):
        try:
            async with in_transaction():
                existing = await Vote.filter(comment_id=comment.id, account_id=actor.id).select_for_update().first()
                if existing is None:
                    await Vote.create(comment_id=comment.id, account_id=actor.id, value=choice)
                    await Comment.filter(id=comment.id).update(**{COUNTERS[choice]: F(COUNTERS[choice]) + 1})
                elif existing.value is not choice:
                    old = COUNTERS[existing.value]
                    await Vote.filter(id=existing.id).update(value=choice, updated_at=now())
                    await Comment.filter(id=comment.id).update(**{old: F(old) - 1, COUNTERS[choice]: F(COUNTERS[choice]) + 1})
            return choice
        except IntegrityError:
            continue  # the same person voted twice at once: the second try changes the first vote
    raise ServiceError({"": _("Your vote could not be saved; try again")}, 409)


FLAG_REASONS = tuple(r.value for r in FlagReason)


async def flag(actor: Principal | None, settings: Settings, comment_id: int, *, reason: str, note: str) -> bool:
    """Report a comment to the moderators; returns True when this flag hid it. One flag per person
    per comment; enough flags from different people hide it until a moderator decides."""
    actor = _participant(actor)
    v = Validator({})
    if reason not in FLAG_REASONS:
        v.fail("reason", _("Choose a reason"))
    note = plain_text(note)
    if len(note) > FLAG_NOTE_MAX:
        v.fail("note", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=FLAG_NOTE_MAX, count=len(note)))
    v.raise_if_any()
    comment = await _published_comment(comment_id)
    if comment.author_id == actor.id:
        raise ServiceError({"": _("You cannot flag your own comment; you can withdraw it")}, 409)
    try:
        async with in_transaction():
            await Flag.create(comment_id=comment.id, account_id=actor.id, reason=FlagReason(reason), note=note)
            await Comment.filter(id=comment.id).update(flag_count=F("flag_count") + 1)
            # Into the moderators' queue (where it stays in place if it already waits there).
            await Comment.filter(id=comment.id, review=None).update(review=ReviewReason.FLAGS, review_since=now())
            hidden = await Comment.filter(
                id=comment.id, status=CommentStatus.PUBLISHED, flag_count__gte=settings.flag_hide_threshold
            ).update(status=CommentStatus.HIDDEN, reason_code="flagged")
            if hidden:
                await _audit(None, "comment.hide", "comment", comment.id, reason="flagged", flags=settings.flag_hide_threshold)
    except IntegrityError:
        raise ServiceError({"": _("You have already flagged this comment; the moderators will look at it")}, 409) from None
    return bool(hidden)


# --- questions ----------------------------------------------------------------------------------


def _read_answer(v: Validator, question: dict[str, Any], raw: list[str]) -> list[Any]:
    """The answer to one question from the form values: option numbers, a 1-5 value or a text."""
    name = f"q{question['id']}"
    kind = QuestionKind(question["kind"])
    raw = [value for value in (r.strip() for r in raw) if value]
    if kind is QuestionKind.TEXT:
        text = comment_text(raw[0]) if raw else ""
        if len(text) > 5000:
            v.fail(name, _("Write %(max)s characters or fewer (you wrote %(count)s)", max=5000, count=len(text)))
        chosen: list[Any] = [text] if text else []
    else:
        allowed = range(1, 6) if kind is QuestionKind.SCALE else range(len(question["options"]))
        numbers = [int(r) for r in raw if r.isdigit() and len(r) < 4 and int(r) in allowed]
        if len(numbers) != len(raw) or (kind is not QuestionKind.MULTIPLE and len(numbers) > 1):
            v.fail(name, _("Choose one of the options given"))
            numbers = []
        chosen = sorted(set(numbers))
    if question["required"] and not chosen:
        v.fail(name, _("Answer this question") if kind is QuestionKind.TEXT else _("Choose an answer to this question"))
    return chosen


async def respond(actor: Principal | None, consultation_id: int, form: dict[str, list[str]]) -> QuestionResponse:
    """Save the account's answers, replacing earlier ones: one response per account, editable until
    the consultation closes."""
    actor = _participant(actor)
    consultation = await _open_consultation(consultation_id, taking_part=actor)
    questions = await Question.filter(consultation_id=consultation["id"]).order_by("position").values("id", "kind", "options", "required")
    if not questions:
        raise ServiceError({"": _("This consultation asks no questions")}, 404)
    v = Validator({})
    answers = {q["id"]: _read_answer(v, q, form.get(f"q{q['id']}", [])) for q in questions}
    if not v.errors and not any(answers.values()):
        v.fail("", _("Answer at least one question"))
    v.raise_if_any()
    for _attempt in range(2):
        try:
            async with in_transaction():
                response = await QuestionResponse.filter(consultation_id=consultation["id"], account_id=actor.id).first()
                if response is None:
                    response = await QuestionResponse.create(consultation_id=consultation["id"], account_id=actor.id)
                else:
                    await QuestionResponse.filter(id=response.id).update(updated_at=now())
                    await Answer.filter(response_id=response.id).delete()
                await Answer.bulk_create(
                    [
                        Answer(response_id=response.id, question_id=question_id, text=value) if isinstance(value, str)
                        else Answer(response_id=response.id, question_id=question_id, option=value)
                        for question_id, values in answers.items()
                        for value in values
                    ]
                )
            return response
        except IntegrityError:
            continue  # two submissions at once: the second replaces the first's answers
    raise ServiceError({"": _("Your answers could not be saved; try again")}, 409)


# --- following ----------------------------------------------------------------------------------


async def follow(actor: Principal | None, consultation_id: int, following: bool) -> None:
    """Follow (or stop following) a public consultation, to hear by e-mail when it is extended,
    closed or its outcome published. Allowed in every public state: the outcome comes after closing."""
    if actor is None:
        raise PermissionDenied()
    consultation = await Consultation.get_or_none(id=consultation_id)
    if consultation is None or consultation.status is ConsultationStatus.DRAFT:
        raise ServiceError({"": _("This consultation does not exist")}, 404)
    if not following:
        await Follow.filter(consultation_id=consultation.id, account_id=actor.id).delete()
        return
    try:
        await Follow.create(consultation_id=consultation.id, account_id=actor.id)
    except IntegrityError:
        pass  # already following: the wish is met


# --- a person's own data ------------------------------------------------------------------------


async def export_data(actor: Principal) -> dict[str, Any]:
    """Everything stored about the person, as they would take it elsewhere."""
    account = await Account.filter(id=actor.id).values(
        "email", "display_name", "language", "province", "respondent_kind", "created_at", "email_verified_at", "last_sign_in_at",
        "identity_verified_at", "verified_by", "verified_name", "birth_year", "verified_fields",
    )
    identities = await IdentityLink.filter(account_id=actor.id).order_by("id").values("provider", "subject", "linked_at", "last_used_at")
    comments = await Comment.filter(author_id=actor.id).order_by("id").values(
        "id", "consultation__slug", "article__label", "parent_id", "stance", "body", "proposed_wording", "status", "reason_code", "created_at",
    )
    votes = await Vote.filter(account_id=actor.id).order_by("id").values("comment_id", "value", "created_at", "updated_at")
    flags = await Flag.filter(account_id=actor.id).order_by("id").values("comment_id", "reason", "note", "created_at")
    follows = await Follow.filter(account_id=actor.id).order_by("id").values("consultation__slug", "created_at")
    answers = await Answer.filter(response__account_id=actor.id).order_by("id").values(
        "response__consultation__slug", "question__prompt", "question__kind", "question__options", "option", "text", "response__updated_at",
    )
    consents = await Consent.filter(account_id=actor.id).order_by("id").values("purpose", "notice_version", "given_at", "withdrawn_at")
    # Only that they answered: the answers themselves are stored without the account (consult.satisfaction).
    surveyed = await SatisfactionGiven.filter(account_id=actor.id).order_by("id").values("consultation__slug", "question")
    responses: dict[str, list[dict[str, Any]]] = {}
    for answer in answers:
        kind = QuestionKind(answer["question__kind"])
        if answer["option"] is None:
            value: Any = answer["text"]
        elif kind is QuestionKind.SCALE:
            value = answer["option"]
        else:
            options = answer["question__options"] or []
            value = options[answer["option"]] if answer["option"] < len(options) else answer["option"]
        responses.setdefault(answer["response__consultation__slug"], []).append({"question": answer["question__prompt"], "answer": value})

    def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{key.replace("__", "_"): getattr(value, "value", value) for key, value in row.items()} for row in rows]

    return {
        "account": plain(account)[0] if account else {},
        "consents": plain(consents),
        "identity_links": plain(identities),
        "comments": plain(comments),
        "votes": plain(votes),
        "flags": plain(flags),
        "follows": plain(follows),
        "responses": [{"consultation": slug, "answers": items} for slug, items in responses.items()],
        "satisfaction_questions_answered": plain(surveyed),
    }


async def delete_account(actor: Principal | None, settings: Settings, *, confirm_email: str) -> None:
    """Remove the person and their data. Published comments stay, shown as from a deleted account
    and linked to no one, because others replied to and voted on them; a setting removes them too.
    The votes they cast go, and the counters of the comments they voted on are recounted."""
    if actor is None:
        raise PermissionDenied()
    if (confirm_email or "").strip().lower() != actor.email:
        raise ServiceError({"confirm_email": _("Type your e-mail address to confirm")})
    async with in_transaction():
        voted_on = await Vote.filter(account_id=actor.id).values_list("comment_id", flat=True)
        flagged = await Flag.filter(account_id=actor.id).values_list("comment_id", flat=True)
        keep = [] if settings.delete_account_removes_comments else [CommentStatus.PUBLISHED]
        await Comment.filter(author_id=actor.id).exclude(status__in=keep).delete()
        await Comment.filter(author_id=actor.id).update(author_id=None)
        await Account.filter(id=actor.id).delete()  # votes, flags, follows, responses, tokens, grants go with it
        await _recount(set(voted_on) | set(flagged))
        await _audit(None, "account.delete", "account", actor.id)


async def _recount(comment_ids: set[int]) -> None:
    for comment_id in sorted(comment_ids):
        counts = {value: await Vote.filter(comment_id=comment_id, value=value).count() for value in VoteValue}
        await Comment.filter(id=comment_id).update(
            agree_count=counts[VoteValue.AGREE], disagree_count=counts[VoteValue.DISAGREE], pass_count=counts[VoteValue.PASS],
            flag_count=await Flag.filter(comment_id=comment_id).count(),
        )
