"""Use cases after the comments are in: reports (asking for a rebuild, keeping them fresh), the agency's
answer table (giải trình, tiếp thu), publishing the outcome, and the open data release."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.transactions import in_transaction

from consult import db, i18n, security
from consult.i18n import gettext as _
from consult.models import Consultation, ConsultationStatus, OpenDataRelease, OutcomeDecision, OutcomeItem, Report
from consult.permissions import Principal, can_act_for_agency, can_read_report
from consult.queries import _Params
from consult.queue import enqueue
from consult.reports.aggregate import utc_time
from consult.reports.build import job_id as report_job_id
from consult.services import PermissionDenied, ServiceError, Validator, _audit, notify_followers, send_queued
from consult.settings import Settings
from consult.text.sanitize import plain_text

MAX_SUMMARY = 5000
MAX_REASON = 5000
OPEN_DATA_JOB = "release_open_data"


def now() -> datetime:
    return datetime.now(timezone.utc)


async def _consultation(actor: Principal | None, consultation_id: int) -> Consultation:
    consultation = await Consultation.get_or_none(id=consultation_id)
    if consultation is None:
        raise ServiceError({"": _("This consultation does not exist")}, 404)
    if not can_act_for_agency(actor, consultation.agency_id):
        raise PermissionDenied()
    return consultation


# --- reports ----------------------------------------------------------------------------------


async def request_report(actor: Principal | None, consultation_id: int) -> bool:
    """An official asks for a fresh report. False when a build is already waiting or running (it is
    not started twice; the page shows it running)."""
    consultation = await Consultation.get_or_none(id=consultation_id)
    if consultation is None or consultation.status in (ConsultationStatus.DRAFT, ConsultationStatus.SCHEDULED):
        raise ServiceError({"": _("A report is made once the consultation has opened")}, 400)
    if not can_read_report(actor, consultation.agency_id, False):
        raise PermissionDenied()
    report, _created = await Report.get_or_create(consultation_id=consultation_id)
    if report.started_at is not None and report.started_at > now() - timedelta(hours=1):
        return False
    requested = now()
    await Report.filter(id=report.id).update(requested_at=requested)
    await _audit(actor, "report.request", "consultation", consultation_id)
    return await enqueue("build_report", consultation_id, _job_id=report_job_id(consultation_id, f"request-{requested.timestamp():.3f}"))


async def due_reports(refresh_seconds: int) -> list[int]:
    """Consultations whose report should be built now: open ones with activity since their last
    snapshot, no more often than ``refresh_seconds``; closed ones without a final snapshot; and
    requests not acted on within a minute (the queue was down)."""
    moment = now()
    p = _Params()
    rows = await db.fetch(
        f"SELECT c.id, c.status, r.built_at, r.final, r.requested_at, r.started_at, r.last_comment_id, r.last_vote_id, r.last_response_id "
        f"FROM consultation c LEFT JOIN report r ON r.consultation_id = c.id WHERE c.status IN ({p('open')}, {p('closed')}, {p('outcome_published')})",
        *p.values,
    )
    due = []
    for row in rows:
        built = utc_time(row["built_at"])
        started = utc_time(row["started_at"])
        requested = utc_time(row["requested_at"])
        if started is not None and started > moment - timedelta(hours=1):
            continue  # running
        if requested is not None and requested < moment - timedelta(minutes=1):
            due.append(int(row["id"]))
        elif row["status"] != "open":
            if not row["final"]:
                due.append(int(row["id"]))
        elif built is None or (built < moment - timedelta(seconds=refresh_seconds) and await _has_activity(row)):
            due.append(int(row["id"]))
    return due


async def _has_activity(row: dict[str, Any]) -> bool:
    p = _Params()
    consultation_id = int(row["id"])
    found = await db.fetch(
        f"SELECT 1 AS found WHERE EXISTS (SELECT 1 FROM comment WHERE consultation_id = {p(consultation_id)} AND id > {p(int(row['last_comment_id'] or 0))}) "
        f"OR EXISTS (SELECT 1 FROM vote v JOIN comment c ON c.id = v.comment_id WHERE v.id > {p(int(row['last_vote_id'] or 0))} AND c.consultation_id = {p(consultation_id)}) "
        f"OR EXISTS (SELECT 1 FROM question_response WHERE consultation_id = {p(consultation_id)} AND id > {p(int(row['last_response_id'] or 0))})",
        *p.values,
    )
    return bool(found)


async def report_of(consultation_id: int) -> dict[str, Any] | None:
    rows = await Report.filter(consultation_id=consultation_id).values(
        "data", "built_at", "build_seconds", "final", "requested_at", "started_at", "failed_at"
    )
    return rows[0] if rows else None


# --- the agency's answer -----------------------------------------------------------------------

ANSWERABLE = (ConsultationStatus.CLOSED,)


def _draft_summary(kind: str, row: dict[str, Any], themes: dict[int, dict[str, Any]]) -> str:
    """What was said, in the consultation's language, from the report's figures: the official edits it."""
    if kind == "theme":
        quotes = "; ".join(f"“{q['text']}”" for q in row.get("quotes", [])[:2])
        text = _("Comments on %(terms)s: %(num)s.", num=row["size"], terms=", ".join(row.get("terms", [])[:4]))
        return f"{text} {quotes}".strip()
    stance = row["stance"]
    parts = [
        _("Comments: %(num)s (%(support)s support, %(oppose)s oppose, %(change)s propose a change).",
          num=row["comments"], support=stance["support"], oppose=stance["oppose"], change=stance["change"])
    ]
    labels = [themes[t["theme"]]["label"] for t in row.get("themes", []) if t["theme"] in themes]
    if labels:
        parts.append(_("Main themes: %(themes)s.", themes="; ".join(labels)))
    groups = row["wordings"]["groups"]
    if groups:
        parts.append(_("Wording proposed most often (comments: %(num)s): “%(text)s”", num=groups[0]["count"], text=groups[0]["text"][:500]))
    return " ".join(parts)


async def prepare_answer(actor: Principal | None, consultation_id: int) -> list[OutcomeItem]:
    """The answer table's rows, made once from the latest report: the whole draft and every article
    with comments, then every theme; summaries pre-filled in the consultation's language."""
    consultation = await _consultation(actor, consultation_id)
    existing = await OutcomeItem.filter(consultation_id=consultation_id).order_by("position")
    if existing or consultation.status not in ANSWERABLE:
        return existing
    report = await report_of(consultation_id)
    data = (report or {}).get("data") or {}
    themes = {t["id"]: t for t in (data.get("themes") or {}).get("items", [])}
    token = i18n.set_language(consultation.language)
    try:
        rows: list[dict[str, Any]] = []
        for article in data.get("articles", []):
            if article["comments"] == 0 and article["id"] is not None:
                continue
            title = f"{article['label']} {article['title']}".strip() if article["id"] else _("The draft as a whole")
            rows.append({"kind": "article" if article["id"] else "general", "article_id": article["id"], "title": title[:300],
                         "comment_count": article["comments"], "summary": _draft_summary("article", article, themes)})
        for theme in themes.values():
            rows.append({"kind": "theme", "article_id": None, "title": _("Theme: %(label)s", label=theme["label"])[:300],
                         "comment_count": theme["size"], "summary": _draft_summary("theme", theme, themes)})
        if not rows:
            rows.append({"kind": "general", "article_id": None, "title": _("The draft as a whole"), "comment_count": 0, "summary": ""})
    finally:
        i18n.reset_language(token)
    async with in_transaction():
        if await OutcomeItem.filter(consultation_id=consultation_id).exists():
            return await OutcomeItem.filter(consultation_id=consultation_id).order_by("position")
        for position, row in enumerate(rows, start=1):
            await OutcomeItem.create(consultation_id=consultation_id, position=position, **row)
    return await OutcomeItem.filter(consultation_id=consultation_id).order_by("position")


def _check_items(v: Validator, items: list[OutcomeItem], form: dict[str, list[str]], *, complete: bool) -> list[dict[str, Any]]:
    changes = []
    decisions = {d.value for d in OutcomeDecision}
    for item in items:
        key = f"item-{item.id}"
        summary = plain_text((form.get(f"{key}-summary") or [""])[0])
        decision = (form.get(f"{key}-decision") or [""])[0]
        reason = plain_text((form.get(f"{key}-reason") or [""])[0])
        if len(summary) > MAX_SUMMARY:
            v.fail(f"{key}-summary", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=MAX_SUMMARY, count=len(summary)))
        if len(reason) > MAX_REASON:
            v.fail(f"{key}-reason", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=MAX_REASON, count=len(reason)))
        if decision and decision not in decisions:
            v.fail(f"{key}-decision", _("Choose accepted, partly accepted or not accepted"))
        if complete:
            if not summary:
                v.fail(f"{key}-summary", _("Write a summary of what was said about %(title)s", title=item.title))
            if not decision:
                v.fail(f"{key}-decision", _("Choose whether %(title)s was accepted", title=item.title))
            elif decision != OutcomeDecision.ACCEPTED.value and not reason:
                v.fail(f"{key}-reason", _("Give the reason for %(title)s: people are told why their input was not taken up in full", title=item.title))
        changes.append({"id": item.id, "summary": summary, "decision": decision or None, "reason": reason})
    return changes


async def save_answer(actor: Principal | None, consultation_id: int, form: dict[str, list[str]], *, intro: str, publish: bool = False) -> None:
    """Saves the table (a draft may be incomplete); with ``publish`` every row must be complete."""
    consultation = await _consultation(actor, consultation_id)
    v = Validator({})
    if consultation.status not in ANSWERABLE:
        v.fail("", _("The answer is written after the consultation closes, and only until it is published"))
        v.raise_if_any()
    items = await OutcomeItem.filter(consultation_id=consultation_id).order_by("position")
    intro = plain_text(intro)
    if len(intro) > MAX_SUMMARY:
        v.fail("intro", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=MAX_SUMMARY, count=len(intro)))
    changes = _check_items(v, items, form, complete=publish)
    if publish and not intro:
        v.fail("intro", _("Write a short introduction to the answer"))
    v.raise_if_any()
    async with in_transaction():
        for change in changes:
            await OutcomeItem.filter(id=change["id"], consultation_id=consultation_id).update(
                summary=change["summary"], decision=change["decision"], reason=change["reason"]
            )
        await Consultation.filter(id=consultation_id).update(outcome_summary=intro)
        await _audit(actor, "outcome.save", "consultation", consultation_id, rows=len(changes))


async def publish_outcome(actor: Principal | None, settings: Settings, consultation_id: int, form: dict[str, list[str]], *, intro: str) -> None:
    """Saves the complete table and publishes the outcome: the page shows it, followers are written
    to, and the open data package is released by a job."""
    await save_answer(actor, consultation_id, form, intro=intro, publish=True)
    moment = now()
    async with in_transaction():
        changed = await Consultation.filter(id=consultation_id, status=ConsultationStatus.CLOSED).update(
            status=ConsultationStatus.OUTCOME_PUBLISHED, outcome_published_at=moment
        )
        if not changed:
            raise ServiceError({"": _("The answer is written after the consultation closes, and only until it is published")})
        await _audit(actor, "outcome.publish", "consultation", consultation_id)
        await OpenDataRelease.get_or_create(consultation_id=consultation_id, defaults={"licence": settings.open_data_licence, "folder": ""})
        mails = await notify_followers(settings, consultation_id, "outcome")
    await send_queued(mails)
    await enqueue(OPEN_DATA_JOB, consultation_id, _job_id=f"{OPEN_DATA_JOB}:{consultation_id}")


async def unreleased_open_data() -> list[int]:
    """Outcomes published whose package is not written yet (the job failed, or the queue was down)."""
    return await OpenDataRelease.filter(released_at__isnull=True).values_list("consultation_id", flat=True)


async def release_open_data(settings: Settings, consultation_id: int) -> str:
    """Writes the anonymised package (idempotent: a second run writes the same files)."""
    from consult import opendata  # the writer pulls in the export code only where it is used

    release = await OpenDataRelease.get_or_none(consultation_id=consultation_id)
    consultation = await Consultation.get_or_none(id=consultation_id)
    if release is None or consultation is None or consultation.status is not ConsultationStatus.OUTCOME_PUBLISHED:
        return "skipped"
    report = await report_of(consultation_id)
    folder = settings.open_data_path / consultation.slug
    files = await opendata.write_package(
        consultation_id, folder, licence=release.licence, secret=security.participant_key_secret(settings.secret_key), base_url=settings.base_url,
        report=(report or {}).get("data"),
    )
    await OpenDataRelease.filter(id=release.id).update(folder=consultation.slug, files=files, released_at=now())
    return "released"


async def record_personal_export(actor: Principal | None, consultation_id: int, kind: str, fmt: str) -> None:
    """Every download of personal fields by staff is in the audit log (Decree 13/2023: access to
    personal data is recorded)."""
    await _audit(actor, "export.personal", "consultation", consultation_id, kind=kind, format=fmt)
