"""The consultation lifecycle: publish now or on schedule, extend, close early, and the cron job that
opens and closes at the stored times, in whichever job mode the suite runs."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from consult import services
from consult.models import Account, Agency, AuditEntry, Consultation, ConsultationKind, ConsultationStatus
from consult.permissions import Principal
from consult.queue import enqueue


OFFICIALS: dict[int, int] = {}


def official(agency_id: int) -> Principal:
    return Principal(id=OFFICIALS[agency_id], email="o@example.vn", display_name="O", language="vi", verified=True,
                     session_version=1, agency_ids=frozenset({agency_id}))


async def draft(agency: Agency, slug: str = "du-thao") -> Consultation:
    return await Consultation.create(agency=agency, slug=slug, title="Dự thảo", summary="Tóm tắt",
                                     kind=ConsultationKind.POLICY, language="vi")


@pytest.fixture
async def agencies(app):
    made = [await Agency.create(slug=f"agency-{i}", name_vi=f"Cơ quan {i}", name_en=f"Agency {i}") for i in (1, 2)]
    for agency in made:
        account = await Account.create(email=f"official{agency.id}@example.vn", display_name="Cán bộ", password_hash="x")
        OFFICIALS[agency.id] = account.id
    return made


def at(**delta) -> datetime:
    return datetime.now(timezone.utc) + timedelta(**delta)


async def test_publish_now_or_on_schedule(agencies):
    now_one = await services.publish(official(agencies[0].id), (await draft(agencies[0], "a")).id, opens_at=None, closes_at=at(days=10))
    assert now_one.status is ConsultationStatus.OPEN and now_one.opened_at is not None
    later = await services.publish(official(agencies[0].id), (await draft(agencies[0], "b")).id, opens_at=at(days=1), closes_at=at(days=10))
    assert later.status is ConsultationStatus.SCHEDULED and later.opened_at is None
    actions = await AuditEntry.filter(target_type="consultation").order_by("id").values_list("action", flat=True)
    assert actions == ["consultation.open", "consultation.schedule"]


async def test_publish_refuses_bad_dates_other_agencies_and_non_drafts(agencies):
    c = await draft(agencies[0])
    with pytest.raises(services.ServiceError) as error:
        await services.publish(official(agencies[0].id), c.id, opens_at=at(days=5), closes_at=at(days=4))
    assert "closes_at" in error.value.errors
    with pytest.raises(services.ServiceError) as error:
        await services.publish(official(agencies[0].id), c.id, opens_at=None, closes_at=None)
    assert "closes_at" in error.value.errors
    with pytest.raises(services.PermissionDenied):
        await services.publish(official(agencies[1].id), c.id, opens_at=None, closes_at=at(days=3))
    with pytest.raises(services.PermissionDenied):
        await services.publish(None, c.id, opens_at=None, closes_at=at(days=3))
    await services.publish(official(agencies[0].id), c.id, opens_at=None, closes_at=at(days=3))
    with pytest.raises(services.ServiceError):
        await services.publish(official(agencies[0].id), c.id, opens_at=None, closes_at=at(days=9))
    assert (await Consultation.get(id=c.id)).closes_at < at(days=4)  # nothing already saved was changed


async def test_extend_and_close_early_are_logged_with_who_and_why(agencies, settings):
    actor = official(agencies[0].id)
    c = await services.publish(actor, (await draft(agencies[0])).id, opens_at=None, closes_at=at(days=3))
    with pytest.raises(services.ServiceError) as error:
        await services.extend_deadline(actor, settings, c.id, closes_at=at(days=2), reason="")
    assert {"reason", "closes_at"} <= set(error.value.errors)
    extended = await services.extend_deadline(actor, settings, c.id, closes_at=at(days=7), reason="Nhiều ý kiến đề nghị")
    assert extended.closes_at > at(days=6)
    closed = await services.close_early(actor, settings, c.id, reason="Đã đủ ý kiến")
    assert closed.status is ConsultationStatus.CLOSED and closed.closed_at is not None
    entries = await AuditEntry.filter(target_type="consultation").order_by("id").values("action", "detail")
    assert [e["action"] for e in entries] == ["consultation.open", "consultation.extend", "consultation.close"]
    assert entries[1]["detail"]["reason"] == "Nhiều ý kiến đề nghị" and entries[2]["detail"]["reason"] == "Đã đủ ý kiến"
    with pytest.raises(services.ServiceError):
        await services.close_early(actor, settings, c.id, reason="again")


async def test_advance_opens_and_closes_once_even_when_run_twice_at_once(agencies, settings):
    due_to_open = await draft(agencies[0], "open-me")
    await Consultation.filter(id=due_to_open.id).update(status=ConsultationStatus.SCHEDULED, opens_at=at(minutes=-1), closes_at=at(days=5))
    due_to_close = await draft(agencies[0], "close-me")
    await Consultation.filter(id=due_to_close.id).update(status=ConsultationStatus.OPEN, opens_at=at(days=-5), closes_at=at(seconds=-1))
    both = await draft(agencies[1], "open-and-close")  # the site was down through its whole window
    await Consultation.filter(id=both.id).update(status=ConsultationStatus.SCHEDULED, opens_at=at(days=-3), closes_at=at(days=-1))
    not_yet = await draft(agencies[1], "not-yet")
    await Consultation.filter(id=not_yet.id).update(status=ConsultationStatus.SCHEDULED, opens_at=at(hours=1), closes_at=at(days=5))

    first, second = await asyncio.gather(services.advance_lifecycle(settings), services.advance_lifecycle(settings))
    statuses = dict(await Consultation.all().values_list("slug", "status"))
    assert statuses == {
        "open-me": ConsultationStatus.OPEN,
        "close-me": ConsultationStatus.CLOSED,
        "open-and-close": ConsultationStatus.CLOSED,
        "not-yet": ConsultationStatus.SCHEDULED,
    }
    assert sorted(first["opened"] + second["opened"]) == sorted([due_to_open.id, both.id])
    assert sorted(first["closed"] + second["closed"]) == sorted([due_to_close.id, both.id])
    assert await AuditEntry.filter(action="consultation.open").count() == 2
    assert await AuditEntry.filter(action="consultation.close").count() == 2
    assert await services.advance_lifecycle(settings) == {"opened": [], "closed": []}


async def test_the_cron_job_runs_in_the_suites_job_mode(agencies, run_jobs):
    c = await draft(agencies[0])
    await Consultation.filter(id=c.id).update(status=ConsultationStatus.SCHEDULED, opens_at=at(seconds=-5), closes_at=at(days=1))
    await enqueue("advance_consultations")
    await run_jobs()
    assert (await Consultation.get(id=c.id)).status is ConsultationStatus.OPEN
