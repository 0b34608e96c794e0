"""The agencies' figures: participation, moderation, answers and satisfaction, for one agency or all of them
and a period of whole months in the site's time zone, each computed by SQL aggregates from the data.

What counts in a period: consultations opened or closed in it, and the comments, votes and answers made in it
(by their time). A participant is an account that commented, voted or answered in the period, counted once
however often; the comments of deleted accounts count as comments, their authors no longer as participants.
The answer figures look at the consultations closed in the period: the median days from closing to the
published answer, and how many are still unanswered past the deadline (``outcome_deadline_days``).
Satisfaction answers count by the day they were given.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from consult import db
from consult.models import CommentStatus, DashboardSnapshot, OutcomeDecision
from consult.queries import _Params
from consult.reports.aggregate import utc_time

DECIDED = (CommentStatus.PUBLISHED.value, CommentStatus.REJECTED.value, CommentStatus.HIDDEN.value)
TAKEN_DOWN = (CommentStatus.REJECTED.value, CommentStatus.HIDDEN.value)


@dataclass(frozen=True)
class Period:
    """Whole months ``first`` to ``last`` (first days), both included, in the site's time zone."""

    first: date
    last: date
    time_zone: str

    @property
    def start(self) -> datetime:
        return _local_midnight(self.first, self.time_zone)

    @property
    def end(self) -> datetime:
        return _local_midnight(next_month(self.last), self.time_zone)

    def months(self) -> list["Period"]:
        out, month = [], self.first
        while month <= self.last:
            out.append(Period(month, month, self.time_zone))
            month = next_month(month)
        return out


def month_key(day: date) -> str:
    """A month as the pages, the CSV and the stored figures name it: "2026-03"."""
    return day.isoformat()[:7]


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _local_midnight(day: date, time_zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(time_zone)).astimezone(timezone.utc)


def last_months(count: int, time_zone: str, today: date | None = None) -> Period:
    """The ``count`` months up to and including this one."""
    today = today or datetime.now(ZoneInfo(time_zone)).date()
    last = today.replace(day=1)
    first = last
    for _ in range(count - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, last, time_zone)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None  # JSON-ready: the figures are stored as a snapshot


def _int(value: Any) -> int:
    return int(value or 0)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _agency(p: _Params, agency_id: int | None) -> str:
    """The condition on the consultation (alias k) of one agency, or of all of them."""
    return f"k.agency_id = {p(agency_id)}" if agency_id is not None else "1 = 1"


class _Scope:
    """The SQL conditions of one agency (or all) and one period, with their parameters."""

    def __init__(self, agency_id: int | None, period: Period) -> None:
        self.agency_id = agency_id
        self.period = period

    def query(self, sql: str, **columns: str) -> Any:
        """``sql`` with {agency} (a condition on the consultation alias k) and, for each keyword, {name} (the
        column given in the period); numbered parameters in the order they appear."""
        ordered = _Params()  # numbered in the order of the text, as SQLite's positional ? need
        text = sql
        for key in re.findall(r"\{(\w+)\}", sql):
            if key == "agency":
                piece = _agency(ordered, self.agency_id)
            else:
                piece = f"{columns[key]} >= {ordered(self.period.start)} AND {columns[key]} < {ordered(self.period.end)}"
            text = text.replace("{" + key + "}", piece, 1)
        return db.fetch(text, *ordered.values)


PEOPLE_SQL = (
    "SELECT c.author_id AS account_id FROM comment c JOIN consultation k ON k.id = c.consultation_id "
    "WHERE {agency} AND {comment_time} AND c.author_id IS NOT NULL "
    "UNION SELECT v.account_id FROM vote v JOIN comment c ON c.id = v.comment_id JOIN consultation k ON k.id = c.consultation_id "
    "WHERE {agency} AND {vote_time} "
    "UNION SELECT r.account_id FROM question_response r JOIN consultation k ON k.id = r.consultation_id WHERE {agency} AND {response_time}"
)
TIMES = {"comment_time": "c.created_at", "vote_time": "v.created_at", "response_time": "r.created_at"}


async def activity(agency_id: int | None, period: Period) -> dict[str, Any]:
    """Consultations opened and closed, participants, comments, votes and responses in the period."""
    s = _Scope(agency_id, period)
    opened, closed, people, comments, votes, responses = await asyncio.gather(
        s.query("SELECT COUNT(*) AS n FROM consultation k WHERE {agency} AND {opened}", opened="k.opened_at"),
        s.query("SELECT COUNT(*) AS n FROM consultation k WHERE {agency} AND {closed}", closed="k.closed_at"),
        s.query(f"SELECT COUNT(*) AS n FROM ({PEOPLE_SQL}) people", **TIMES),
        s.query("SELECT COUNT(*) AS n FROM comment c JOIN consultation k ON k.id = c.consultation_id WHERE {agency} AND {t}", t="c.created_at"),
        s.query("SELECT COUNT(*) AS n FROM vote v JOIN comment c ON c.id = v.comment_id JOIN consultation k ON k.id = c.consultation_id "
                "WHERE {agency} AND {t}", t="v.created_at"),
        s.query("SELECT COUNT(*) AS n FROM question_response r JOIN consultation k ON k.id = r.consultation_id WHERE {agency} AND {t}",
                t="r.created_at"),
    )
    participants, comment_count = _int(people[0]["n"]), _int(comments[0]["n"])
    return {
        "consultations_opened": _int(opened[0]["n"]),
        "consultations_closed": _int(closed[0]["n"]),
        "participants": participants,
        "comments": comment_count,
        "votes": _int(votes[0]["n"]),
        "responses": _int(responses[0]["n"]),
        "comments_per_1000_participants": round(comment_count * 1000 / participants, 1) if participants else None,
    }


async def moderation(agency_id: int | None, period: Period) -> dict[str, Any]:
    """The comments of the period by status, the taken-down ones by reason, and the median time from a
    comment's arrival to its decision (published by the screening or decided by a moderator)."""
    s = _Scope(agency_id, period)
    statuses, reasons, times = await asyncio.gather(
        s.query("SELECT c.status, COUNT(*) AS n FROM comment c JOIN consultation k ON k.id = c.consultation_id "
                "WHERE {agency} AND {t} GROUP BY c.status", t="c.created_at"),
        s.query("SELECT c.reason_code, COUNT(*) AS n FROM comment c JOIN consultation k ON k.id = c.consultation_id "
                f"WHERE {{agency}} AND {{t}} AND c.status IN ('{TAKEN_DOWN[0]}', '{TAKEN_DOWN[1]}') GROUP BY c.reason_code",
                t="c.created_at"),
        s.query("SELECT c.created_at, COALESCE(c.decided_at, c.published_at) AS decided FROM comment c "
                "JOIN consultation k ON k.id = c.consultation_id "
                f"WHERE {{agency}} AND {{t}} AND c.status IN ('{DECIDED[0]}', '{DECIDED[1]}', '{DECIDED[2]}')", t="c.created_at"),
    )
    by_status = {status.value: 0 for status in CommentStatus}
    for row in statuses:
        by_status[row["status"]] = _int(row["n"])
    total = sum(by_status.values())
    taken_down = sorted(([row["reason_code"] or "other", _int(row["n"])] for row in reasons), key=lambda item: (-item[1], item[0]))
    seconds = [
        max(0.0, (utc_time(row["decided"]) - utc_time(row["created_at"])).total_seconds())
        for row in times if row["decided"] is not None and row["created_at"] is not None
    ]
    return {
        "comments": total,
        "by_status": by_status,
        "published_share": _share(by_status[CommentStatus.PUBLISHED.value], total),
        "taken_down_share": _share(sum(n for _, n in taken_down), total),
        "taken_down_by_reason": [[reason, n, _share(n, total)] for reason, n in taken_down],
        "decided": len(seconds),
        "median_decision_seconds": round(statistics.median(seconds)) if seconds else None,
    }


async def answers(agency_id: int | None, period: Period, deadline_days: int, now: datetime | None = None) -> dict[str, Any]:
    """The consultations closed in the period: how many have their answer published, the median days from
    closing to the answer, how many wait past the deadline; and of the comments on articles that got a
    decision, the share on articles whose answer was accepted or partly accepted."""
    now = now or datetime.now(timezone.utc)
    s = _Scope(agency_id, period)
    closed, taken_up = await asyncio.gather(
        s.query("SELECT k.closed_at, k.outcome_published_at FROM consultation k WHERE {agency} AND {t}", t="k.closed_at"),
        s.query("SELECT o.decision, COUNT(c.id) AS n FROM outcome_item o JOIN consultation k ON k.id = o.consultation_id "
                "JOIN comment c ON c.article_id = o.article_id AND c.status = 'published' "
                "WHERE {agency} AND {t} AND k.outcome_published_at IS NOT NULL AND o.kind = 'article' AND o.decision IS NOT NULL "
                "GROUP BY o.decision", t="k.closed_at"),
    )
    days, overdue = [], 0
    deadline = timedelta(days=deadline_days)
    for row in closed:
        closed_at, published_at = utc_time(row["closed_at"]), utc_time(row["outcome_published_at"])
        if published_at is not None:
            days.append(max(0.0, (published_at - closed_at).total_seconds() / 86400))
        elif now - closed_at > deadline:
            overdue += 1
    decisions = {decision.value: 0 for decision in OutcomeDecision}
    for row in taken_up:
        decisions[row["decision"]] = _int(row["n"])
    on_decided = sum(decisions.values())
    accepted = decisions[OutcomeDecision.ACCEPTED.value] + decisions[OutcomeDecision.PARTLY.value]
    return {
        "closed": len(closed),
        "answered": len(days),
        "median_days_to_answer": round(statistics.median(days), 1) if days else None,
        "overdue": overdue,
        "deadline_days": deadline_days,
        "comments_on_decided_articles": on_decided,
        "comments_on_accepted_articles": accepted,
        "accepted_share": _share(accepted, on_decided),
    }


async def satisfaction(agency_id: int | None, period: Period) -> dict[str, Any]:
    """The satisfaction answers given in the period: ease (1-5) with its mean and spread, and whether the
    answer explained what happened (yes, partly, no)."""
    p = _Params()
    agency = _agency(p, agency_id)
    rows = await db.fetch(
        "SELECT s.question, s.value, COUNT(*) AS n FROM satisfaction_answer s JOIN consultation k ON k.id = s.consultation_id "
        f"WHERE {agency} AND s.answered_on >= {p(period.first)} AND s.answered_on < {p(next_month(period.last))} "
        "GROUP BY s.question, s.value",
        *p.values,
    )
    ease = {value: 0 for value in range(1, 6)}
    explained = {"yes": 0, "partly": 0, "no": 0}
    names = {2: "yes", 1: "partly", 0: "no"}
    for row in rows:
        if row["question"] == "ease" and _int(row["value"]) in ease:
            ease[_int(row["value"])] += _int(row["n"])
        elif row["question"] == "outcome" and _int(row["value"]) in names:
            explained[names[_int(row["value"])]] += _int(row["n"])
    ease_count = sum(ease.values())
    explained_count = sum(explained.values())
    return {
        "ease_answers": ease_count,
        "ease_mean": round(sum(v * n for v, n in ease.items()) / ease_count, 2) if ease_count else None,
        "ease": [[value, n] for value, n in ease.items()],
        "explained_answers": explained_count,
        "explained": explained,
        "explained_yes_share": _share(explained["yes"], explained_count),
    }


NOTES_SHOWN = 20


async def satisfaction_notes(agency_id: int | None, period: Period, limit: int = NOTES_SHOWN) -> list[dict[str, Any]]:
    """The newest lines people wrote with their satisfaction answers in the period: anonymous (the answer holds no
    account), for the agency's officials; never on the public page."""
    p = _Params()
    agency = _agency(p, agency_id)
    rows = await db.fetch(
        "SELECT s.question, s.value, s.note, s.answered_on, k.slug, k.title, k.language FROM satisfaction_answer s "
        f"JOIN consultation k ON k.id = s.consultation_id WHERE {agency} AND s.note <> '' "
        f"AND s.answered_on >= {p(period.first)} AND s.answered_on < {p(next_month(period.last))} "
        f"ORDER BY s.answered_on DESC, s.id DESC LIMIT {int(limit)}",
        *p.values,
    )
    return [{**row, "answered_on": str(row["answered_on"])[:10]} for row in rows]


async def provinces(agency_id: int | None, period: Period) -> dict[str, Any]:
    """The period's participants by the province they gave on their profile."""
    rows = await _Scope(agency_id, period).query(
        f"SELECT a.province, COUNT(*) AS n FROM ({PEOPLE_SQL}) people JOIN account a ON a.id = people.account_id GROUP BY a.province", **TIMES,
    )
    counts = sorted(([row["province"], _int(row["n"])] for row in rows if row["province"]), key=lambda item: (-item[1], item[0]))
    return {"by_province": counts, "undeclared": sum(_int(row["n"]) for row in rows if not row["province"])}


async def consultations(agency_id: int | None, period: Period, deadline_days: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """The consultations open at some time in the period, each with its own totals (whatever their time)."""
    now = now or datetime.now(timezone.utc)
    p = _Params()
    agency = _agency(p, agency_id)
    found = await db.fetch(
        "SELECT k.id, k.slug, k.title, k.language, k.status, k.opened_at, k.closed_at, k.outcome_published_at, "
        "a.name_vi, a.name_en FROM consultation k JOIN agency a ON a.id = k.agency_id "
        f"WHERE {agency} AND k.opened_at < {p(period.end)} AND (k.closed_at IS NULL OR k.closed_at >= {p(period.start)}) "
        "ORDER BY k.opened_at DESC, k.id DESC",
        *p.values,
    )
    if not found:
        return []
    ids = [row["id"] for row in found]

    def per(sql: str) -> Any:
        """``sql`` with each {ids} the list of these consultations, numbered in the order of the text."""
        q = _Params()
        text = sql
        for _ in range(sql.count("{ids}")):
            text = text.replace("{ids}", ", ".join(q(i) for i in ids), 1)
        return db.fetch(text, *q.values)

    people, comments, votes, responses, ease = await asyncio.gather(
        per("SELECT people.consultation_id, COUNT(DISTINCT people.account_id) AS n FROM ("
            "SELECT consultation_id, author_id AS account_id FROM comment WHERE consultation_id IN ({ids}) AND author_id IS NOT NULL "
            "UNION ALL SELECT c.consultation_id, v.account_id FROM vote v JOIN comment c ON c.id = v.comment_id "
            "WHERE c.consultation_id IN ({ids}) "
            "UNION ALL SELECT consultation_id, account_id FROM question_response WHERE consultation_id IN ({ids})"
            ") people GROUP BY people.consultation_id"),
        per("SELECT consultation_id, status, COUNT(*) AS n FROM comment WHERE consultation_id IN ({ids}) GROUP BY consultation_id, status"),
        per("SELECT c.consultation_id, COUNT(*) AS n FROM vote v JOIN comment c ON c.id = v.comment_id "
            "WHERE c.consultation_id IN ({ids}) GROUP BY c.consultation_id"),
        per("SELECT consultation_id, COUNT(*) AS n FROM question_response WHERE consultation_id IN ({ids}) GROUP BY consultation_id"),
        per("SELECT consultation_id, COUNT(*) AS n, SUM(value) AS total FROM satisfaction_answer "
            "WHERE consultation_id IN ({ids}) AND question = 'ease' GROUP BY consultation_id"),
    )
    people_of = {row["consultation_id"]: _int(row["n"]) for row in people}
    votes_of = {row["consultation_id"]: _int(row["n"]) for row in votes}
    responses_of = {row["consultation_id"]: _int(row["n"]) for row in responses}
    ease_of = {row["consultation_id"]: (_int(row["n"]), _int(row["total"])) for row in ease}
    comments_of: dict[int, dict[str, int]] = {}
    for row in comments:
        comments_of.setdefault(row["consultation_id"], {})[row["status"]] = _int(row["n"])
    deadline = timedelta(days=deadline_days)
    out = []
    for row in found:
        cid = row["id"]
        statuses = comments_of.get(cid, {})
        total = sum(statuses.values())
        closed_at, published_at = utc_time(row["closed_at"]), utc_time(row["outcome_published_at"])
        answered, n = ease_of.get(cid, (0, 0))
        out.append({
            "id": cid, "slug": row["slug"], "title": row["title"], "language": row["language"], "status": row["status"],
            "agency_vi": row["name_vi"], "agency_en": row["name_en"],
            "opened_at": _iso(utc_time(row["opened_at"])), "closed_at": _iso(closed_at), "outcome_published_at": _iso(published_at),
            "participants": people_of.get(cid, 0), "comments": total, "published_share": _share(statuses.get("published", 0), total),
            "votes": votes_of.get(cid, 0), "responses": responses_of.get(cid, 0),
            "days_to_answer": round((published_at - closed_at).total_seconds() / 86400, 1) if published_at and closed_at else None,
            "overdue": bool(closed_at and not published_at and now - closed_at > deadline),
            "ease_answers": answered, "ease_mean": round(n / answered, 2) if answered else None,
        })
    return out


async def figures(agency_id: int | None, period: Period, deadline_days: int, *, with_consultations: bool = True) -> dict[str, Any]:
    """Every figure of the dashboard for one agency (None: all) and period, with the trend per month and (for
    the agencies' own dashboard) the consultations open in the period."""
    headline = await activity(agency_id, period)
    month_periods = period.months()
    # Each month's counts are independent queries: on PostgreSQL they run at once on the pool's connections.
    counted = await asyncio.gather(*(activity(agency_id, month) for month in month_periods))
    eased = await asyncio.gather(*(satisfaction(agency_id, month) for month in month_periods))
    months = [{"month": month_key(month.first), **counts, "ease_mean": ease["ease_mean"], "ease_answers": ease["ease_answers"]}
              for month, counts, ease in zip(month_periods, counted, eased)]
    return {
        "agency_id": agency_id,
        "first": month_key(period.first),
        "last": month_key(period.last),
        "activity": headline,
        "moderation": await moderation(agency_id, period),
        "answers": await answers(agency_id, period, deadline_days),
        "satisfaction": await satisfaction(agency_id, period),
        "provinces": await provinces(agency_id, period),
        "months": months,
        "consultations": await consultations(agency_id, period, deadline_days) if with_consultations else [],
        "notes": await satisfaction_notes(agency_id, period) if with_consultations else [],
    }


async def agency_rows(period: Period, deadline_days: int) -> list[dict[str, Any]]:
    """The headline figures of each agency that consulted or answered in the period (the public page)."""
    rows = []
    for agency in await db.fetch("SELECT id, slug, name_vi, name_en FROM agency ORDER BY id"):
        counted = await activity(agency["id"], period)
        answered = await answers(agency["id"], period, deadline_days)
        if not (counted["consultations_opened"] or counted["consultations_closed"] or counted["comments"] or answered["closed"]):
            continue
        eased = await satisfaction(agency["id"], period)
        rows.append({**agency, **counted, "answers": answered, "ease_mean": eased["ease_mean"], "ease_answers": eased["ease_answers"],
                     "explained_yes_share": eased["explained_yes_share"]})
    return rows


CSV_COLUMNS = ("scope", "subject", "figure", "value")


def rows(data: dict[str, Any]) -> list[list[str]]:
    """Every figure of ``figures`` as one row (scope, subject, figure, value): the CSV export."""
    period = f"{data['first']}..{data['last']}"
    out: list[list[str]] = []

    def add(scope: str, subject: str, figure: str, value: Any) -> None:
        out.append([scope, subject, figure, "" if value is None else str(value)])

    for key, value in data["activity"].items():
        add("period", period, key, value)
    moderated = data["moderation"]
    for key in ("comments", "published_share", "taken_down_share", "decided", "median_decision_seconds"):
        add("period", period, f"moderation_{key}", moderated[key])
    for status, n in moderated["by_status"].items():
        add("period", period, f"comments_{status}", n)
    for reason, n, share in moderated["taken_down_by_reason"]:
        add("period", period, f"taken_down_{reason}", n)
        add("period", period, f"taken_down_{reason}_share", share)
    for key, value in data["answers"].items():
        add("period", period, f"answers_{key}", value)
    eased = data["satisfaction"]
    for key in ("ease_answers", "ease_mean", "explained_answers", "explained_yes_share"):
        add("period", period, key, eased[key])
    for value, n in eased["ease"]:
        add("period", period, f"ease_{value}", n)
    for key, n in eased["explained"].items():
        add("period", period, f"explained_{key}", n)
    for province, n in data["provinces"]["by_province"]:
        add("province", province, "participants", n)
    add("province", "", "participants_undeclared", data["provinces"]["undeclared"])
    for month in data["months"]:
        for key, value in month.items():
            if key != "month":
                add("month", month["month"], key, value)
    for row in data["consultations"]:
        for key in ("status", "opened_at", "closed_at", "outcome_published_at", "participants", "comments", "published_share", "votes",
                    "responses", "days_to_answer", "overdue", "ease_answers", "ease_mean"):
            value = row[key]
            add("consultation", row["slug"], key, value)
    return out


# --- stored figures -------------------------------------------------------------------------------------

SNAPSHOT_MONTHS = 12  # the period the pages show by default, and the one stored
SNAPSHOT_MAX_AGE = timedelta(minutes=30)  # older (the job stopped): the pages count again


def scope_of(agency_id: int | None) -> str:
    return "all" if agency_id is None else f"agency:{agency_id}"


async def build_snapshots(time_zone: str, deadline_days: int) -> list[str]:
    """Count the default period's figures of every agency that has a consultation, and of all agencies with
    the public page's table, and store them (the refresh_dashboards job)."""
    period = last_months(SNAPSHOT_MONTHS, time_zone)
    agency_ids = [row["agency_id"] for row in await db.fetch("SELECT DISTINCT agency_id FROM consultation ORDER BY agency_id")]
    built = []
    for agency_id in [None, *agency_ids]:
        clock = time.perf_counter()
        data = await figures(agency_id, period, deadline_days)
        if agency_id is None:
            data["per_agency"] = await agency_rows(period, deadline_days)
        fields = {"first_month": data["first"], "last_month": data["last"], "data": data, "built_at": datetime.now(timezone.utc),
                  "build_seconds": round(time.perf_counter() - clock, 3)}
        if not await DashboardSnapshot.filter(scope=scope_of(agency_id)).update(**fields):
            await DashboardSnapshot.create(scope=scope_of(agency_id), **fields)
        built.append(scope_of(agency_id))
    return built


async def stored(agency_id: int | None, period: Period) -> tuple[dict[str, Any], datetime] | None:
    """The stored figures of this agency (None: all) when they are of this period and fresh, and when they were counted."""
    rows = await DashboardSnapshot.filter(
        scope=scope_of(agency_id), first_month=month_key(period.first), last_month=month_key(period.last),
        built_at__gte=datetime.now(timezone.utc) - SNAPSHOT_MAX_AGE,
    ).values("data", "built_at")
    return (rows[0]["data"], rows[0]["built_at"]) if rows else None
