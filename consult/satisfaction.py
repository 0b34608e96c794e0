"""How satisfied people are with taking part: one optional question after a comment or answers ("how easy was
it to take part?", five levels) and one under a published outcome ("did the agency's answer explain what
happened to your input?", yes / partly / no), each with an optional line of text.

Answers are anonymous: an answer holds the consultation, the question, the value, the line and the day, never
the account. That a person has answered, so that they are not asked again, is kept apart and holds no answer;
it goes with the account when the account is deleted, and the answer stays, linked to no one."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from consult import queries
from consult.i18n import gettext as _
from consult.models import ConsultationStatus, SatisfactionAnswer, SatisfactionGiven, SatisfactionQuestion
from consult.permissions import Principal, can_participate
from consult.services import PermissionDenied, ServiceError, Validator, now
from consult.settings import Settings
from consult.text.sanitize import plain_text

NOTE_MAX = 500
ASKED_AFTER = ("comment", "response", "outcome")


def ease_choices() -> list[tuple[int, str]]:
    return [(5, _("Very easy")), (4, _("Easy")), (3, _("Neither easy nor difficult")), (2, _("Difficult")), (1, _("Very difficult"))]


def outcome_choices() -> list[tuple[int, str]]:
    return [(2, _("Yes")), (1, _("Partly")), (0, _("No"))]


def choices(question: SatisfactionQuestion) -> list[tuple[int, str]]:
    return ease_choices() if question is SatisfactionQuestion.EASE else outcome_choices()


def question_text(question: SatisfactionQuestion) -> str:
    if question is SatisfactionQuestion.EASE:
        return _("How easy was it to take part?")
    return _("Did the agency's answer explain what happened to your input?")


async def answered(account_id: int, consultation_id: int, question: SatisfactionQuestion) -> bool:
    return await queries.satisfaction_given(account_id, consultation_id, question.value)


async def should_ask(account: Principal | None, consultation_id: int, question: SatisfactionQuestion) -> bool:
    """Whether to ask this person this question here: they took part and have not answered it yet."""
    if account is None or not can_participate(account):
        return False
    if await answered(account.id, consultation_id, question):
        return False
    return await queries.took_part(account.id, consultation_id)


async def answer(actor: Principal | None, settings: Settings, consultation_id: int, *, question: str, value: str, note: str,
                 asked_after: str) -> None:
    """Store one anonymous answer and that this person has given it. Raises ServiceError (messages in the
    current language) for a missing or unknown choice, a line that is too long, or a second answer."""
    if actor is None:
        raise PermissionDenied()
    try:
        asked = SatisfactionQuestion(question)
    except ValueError:
        raise ServiceError({"": _("This question does not exist.")}, 404) from None
    consultation = await queries.consultation_state(consultation_id)
    if consultation is None:
        raise ServiceError({"": _("This question does not exist.")}, 404)
    if asked is SatisfactionQuestion.OUTCOME and consultation["status"] is not ConsultationStatus.OUTCOME_PUBLISHED:
        raise ServiceError({"": _("The agency has not published its answer yet.")}, 409)
    if not can_participate(actor) or not await queries.took_part(actor.id, consultation_id):
        raise ServiceError({"": _("Only people who took part in this consultation are asked this question.")}, 403)
    v = Validator({})
    allowed = {str(number) for number, _label in choices(asked)}
    if (value or "").strip() not in allowed:
        v.fail("satisfaction", _("Choose one of the answers"))
    text = plain_text(note or "")
    if len(text) > NOTE_MAX:
        v.fail("satisfaction_note", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=NOTE_MAX, count=len(text)))
    v.raise_if_any()
    day = datetime.now(ZoneInfo(settings.timezone)).date() if settings.timezone else now().date()
    try:
        async with in_transaction():
            await SatisfactionGiven.create(account_id=actor.id, consultation_id=consultation_id, question=asked)
            await SatisfactionAnswer.create(
                consultation_id=consultation_id, question=asked, value=int(value), note=text,
                asked_after=asked_after if asked_after in ASKED_AFTER else "comment", answered_on=day,
            )
    except IntegrityError:
        raise ServiceError({"": _("You have already answered this question. Thank you.")}, 409) from None
