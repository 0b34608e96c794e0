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

from tortoise.exceptions import IntegrityError

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


class _Day(str):
    """A date column (compared with the first days of months), where the others hold instants."""


class _Scope:
    """The SQL conditions of one agency (or all) and one period, with their parameters, and the groups a query
    counts by: the period's months (0 for the first) or the agencies."""

    def __init__(self, agency_id: int | None, period: Period, by: str = "month") -> None:
        self.agency_id = agency_id
        self.period = period
        self.by = by

    def _within(self, p: _Params, column: str) -> str:
        if isinstance(column, _Day):
            return f"{column} >= {p(self.period.first)} AND {column} < {p(next_month(self.period.last))}"
        return f"{column} >= {p(self.period.start)} AND {column} < {p(self.period.end)}"

    def _group(self, p: _Params, column: str) -> str:
        if self.by == "agency":
            return "k.agency_id"
        later_months = self.period.months()[1:]
        if not later_months:
            return "0"
        # The month of each row in one pass over the table (rows are already within the period), instead of a
        # query a month: it made a year's counts over a million comments twelve times cheaper.
        whens = " ".join(f"WHEN {column} < {p(m.first if isinstance(column, _Day) else m.start)} THEN {i}" for i, m in enumerate(later_months))
        return f"CASE {whens} ELSE {len(later_months)} END"

    def query(self, sql: str, **columns: str) -> Any:
        """``sql`` with {agency} (a condition on the consultation alias k) and, for each keyword, {name} (the
        column given in the period) and {name.group} (the group of the row by that column); numbered
        parameters in the order they appear, as SQLite's positional ? need."""
        ordered = _Params()
        text = sql
        for whole, name, group in re.findall(r"(\{(\w+)(\.group)?\})", sql):
            if name == "agency":
                piece = _agency(ordered, self.agency_id)
            elif group:
                piece = self._group(ordered, columns[name])
            else:
                piece = self._within(ordered, columns[name])
            text = text.replace(whole, piece, 1)
        return db.fetch(text, *ordered.values)


PEOPLE_SQL = (
    "SELECT c.author_id AS account_id FROM comment c JOIN consultation k ON k.id = c.consultation_id "
    "WHERE {agency} AND {comment_time} AND c.author_id IS NOT NULL "
    "UNION SELECT v.account_id FROM vote v JOIN comment c ON c.id = v.comment_id JOIN consultation k ON k.id = c.consultation_id "
    "WHERE {agency} AND {vote_time} "
    "UNION SELECT r.account_id FROM question_response r JOIN consultation k ON k.id = r.consultation_id WHERE {agency} AND {response_time}"
)
TIMES = {"comment_time": "c.created_at", "vote_time": "v.created_at", "response_time": "r.created_at"}

# What the figures add up, counted by group (month or agency) in one query each: (SQL, the time columns).
GROUPED: dict[str, tuple[str, dict[str, str]]] = {
    "opened": ("SELECT {t.group} AS grp, COUNT(*) AS n FROM consultation k WHERE {agency} AND {t} GROUP BY 1", {"t": "k.opened_at"}),
    "closed": ("SELECT {t.group} AS grp, COUNT(*) AS n FROM consultation k WHERE {agency} AND {t} GROUP BY 1", {"t": "k.closed_at"}),
    "comments": ("SELECT {t.group} AS grp, c.status, c.reason_code, COUNT(*) AS n FROM comment c "
                 "JOIN consultation k ON k.id = c.consultation_id WHERE {agency} AND {t} GROUP BY 1, 2, 3", {"t": "c.created_at"}),
    "votes": ("SELECT {t.group} AS grp, COUNT(*) AS n FROM vote v JOIN comment c ON c.id = v.comment_id "
              "JOIN consultation k ON k.id = c.consultation_id WHERE {agency} AND {t} GROUP BY 1", {"t": "v.created_at"}),
    "responses": ("SELECT {t.group} AS grp, COUNT(*) AS n FROM question_response r JOIN consultation k ON k.id = r.consultation_id "
                  "WHERE {agency} AND {t} GROUP BY 1", {"t": "r.created_at"}),
    # A participant once per group however often they took part in it.
    "participants": (
        "SELECT people.grp, COUNT(*) AS n FROM ("
        "SELECT {comment_time.group} AS grp, c.author_id AS account_id FROM comment c JOIN consultation k ON k.id = c.consultation_id "
        "WHERE {agency} AND {comment_time} AND c.author_id IS NOT NULL "
        "UNION SELECT {vote_time.group}, v.account_id FROM vote v JOIN comment c ON c.id = v.comment_id "
        "JOIN consultation k ON k.id = c.consultation_id WHERE {agency} AND {vote_time} "
        "UNION SELECT {response_time.group}, r.account_id FROM question_response r JOIN consultation k ON k.id = r.consultation_id "
        "WHERE {agency} AND {response_time}) people GROUP BY people.grp", TIMES),
    "satisfaction": ("SELECT {d.group} AS grp, s.question, s.value, COUNT(*) AS n FROM satisfaction_answer s "
                     "JOIN consultation k ON k.id = s.consultation_id WHERE {agency} AND {d} GROUP BY 1, 2, 3",
                     {"d": _Day("s.answered_on")}),
}


async def _counted(scope: _Scope) -> dict[str, list[dict[str, Any]]]:
    results = await asyncio.gather(*(scope.query(sql, **columns) for sql, columns in GROUPED.values()))
    return dict(zip(GROUPED, results))


def _of(rows: list[dict[str, Any]], group: int | None) -> list[dict[str, Any]]:
    """The rows of one group, or (None) of all of them."""
    return rows if group is None else [row for row in rows if _int(row["grp"]) == group]


def _activity(counted: dict[str, list[dict[str, Any]]], group: int | None, participants: int | None = None) -> dict[str, Any]:
    """Consultations opened and closed, participants, comments, votes and responses of one group or all;
    ``participants`` of several groups must be given (people are not added up across groups)."""
    def total(name: str) -> int:
        return sum(_int(row["n"]) for row in _of(counted[name], group))

    if participants is None:
        participants = total("participants")
    comment_count = total("comments")
    return {
        "consultations_opened": total("opened"),
        "consultations_closed": total("closed"),
        "participants": participants,
        "comments": comment_count,
        "votes": total("votes"),
        "responses": total("responses"),
        "comments_per_1000_participants": round(comment_count * 1000 / participants, 1) if participants else None,
    }


async def _decision_time(scope: _Scope) -> tuple[int, float | None]:
    """How many comments of the period were decided (published by the screening or decided by a moderator),
    and the median seconds from arrival to decision: the middle one or two in the database's order, so that
    no million rows come to Python."""
    decided = "COALESCE(c.decided_at, c.published_at)"
    where = (f"FROM comment c JOIN consultation k ON k.id = c.consultation_id WHERE {{agency}} AND {{t}} "
             f"AND c.status IN ('{DECIDED[0]}', '{DECIDED[1]}', '{DECIDED[2]}') AND {decided} IS NOT NULL")
    count = _int((await scope.query(f"SELECT COUNT(*) AS n {where}", t="c.created_at"))[0]["n"])
    if not count:
        return 0, None
    middle = await scope.query(f"SELECT {db.seconds_between(decided, 'c.created_at')} AS s {where} ORDER BY 1 "
                               f"LIMIT {2 - count % 2} OFFSET {(count - 1) // 2}", t="c.created_at")
    seconds = [max(0.0, float(row["s"])) for row in middle]  # a clock set back must not make a negative wait
    return count, statistics.fmean(seconds)


def _moderation(comments: list[dict[str, Any]], decided: int, median_seconds: float | None) -> dict[str, Any]:
    """The comments of the period by status, the taken-down ones by reason, and the median time to a decision."""
    by_status = {status.value: 0 for status in CommentStatus}
    reasons: dict[str, int] = {}
    for row in comments:
        by_status[row["status"]] += _int(row["n"])
        if row["status"] in TAKEN_DOWN:
            reason = row["reason_code"] or "other"
            reasons[reason] = reasons.get(reason, 0) + _int(row["n"])
    total = sum(by_status.values())
    taken_down = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return {
        "comments": total,
        "by_status": by_status,
        "published_share": _share(by_status[CommentStatus.PUBLISHED.value], total),
        "taken_down_share": _share(sum(n for _, n in taken_down), total),
        "taken_down_by_reason": [[reason, n, _share(n, total)] for reason, n in taken_down],
        "decided": decided,
        "median_decision_seconds": round(median_seconds) if median_seconds is not None else None,
    }


ANSWER_SQL = {
    "closed": "SELECT {t.group} AS grp, k.closed_at, k.outcome_published_at FROM consultation k WHERE {agency} AND {t}",
    "taken_up": "SELECT {t.group} AS grp, o.decision, COUNT(c.id) AS n FROM outcome_item o JOIN consultation k ON k.id = o.consultation_id "
                "JOIN comment c ON c.article_id = o.article_id AND c.status = 'published' "
                "WHERE {agency} AND {t} AND k.outcome_published_at IS NOT NULL AND o.kind = 'article' AND o.decision IS NOT NULL "
                "GROUP BY 1, o.decision",
}


async def _answer_rows(scope: _Scope) -> dict[str, list[dict[str, Any]]]:
    """The consultations closed in the period and the comments on their decided articles, by group."""
    closed, taken_up = await asyncio.gather(*(scope.query(sql, t="k.closed_at") for sql in ANSWER_SQL.values()))
    return {"closed": closed, "taken_up": taken_up}


def _answers(found: dict[str, list[dict[str, Any]]], deadline_days: int, group: int | None = None,
             now: datetime | None = None) -> dict[str, Any]:
    """Of the consultations closed in the period (of one group, or all): how many have their answer published,
    the median days from closing to the answer, how many wait past the deadline; and of the comments on
    articles that got a decision, the share on articles whose answer was accepted or partly accepted."""
    now = now or datetime.now(timezone.utc)
    closed = _of(found["closed"], group)
    days, overdue = [], 0
    deadline = timedelta(days=deadline_days)
    for row in closed:
        closed_at, published_at = utc_time(row["closed_at"]), utc_time(row["outcome_published_at"])
        if published_at is not None:
            days.append(max(0.0, (published_at - closed_at).total_seconds() / 86400))
        elif now - closed_at > deadline:
            overdue += 1
    decisions = {decision.value: 0 for decision in OutcomeDecision}
    for row in _of(found["taken_up"], group):
        decisions[row["decision"]] += _int(row["n"])
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


async def answers(agency_id: int | None, period: Period, deadline_days: int) -> dict[str, Any]:
    """The answer figures of one agency (None: all) for the consultations closed in the period."""
    return _answers(await _answer_rows(_Scope(agency_id, period)), deadline_days)


def _satisfaction(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Satisfaction answers: ease (1-5) with its mean and spread, and whether the answer explained what
    happened (yes, partly, no)."""
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


async def _nothing() -> list[Any]:
    return []


async def figures(agency_id: int | None, period: Period, deadline_days: int, *, with_consultations: bool = True) -> dict[str, Any]:
    """Every figure of the dashboard for one agency (None: all) and period, with the trend per month and (for
    the agencies' own dashboard) the consultations open in the period."""
    scope = _Scope(agency_id, period)
    counted, places, (decided, median_seconds), answered, listed, notes = await asyncio.gather(
        _counted(scope), provinces(agency_id, period), _decision_time(scope), answers(agency_id, period, deadline_days),
        consultations(agency_id, period, deadline_days) if with_consultations else _nothing(),
        satisfaction_notes(agency_id, period) if with_consultations else _nothing(),
    )
    months = []
    for index, month in enumerate(period.months()):
        eased = _satisfaction(_of(counted["satisfaction"], index))
        months.append({"month": month_key(month.first), **_activity(counted, index), "ease_mean": eased["ease_mean"],
                       "ease_answers": eased["ease_answers"]})
    # The period's participants are the province table's people: each once, however many months they took part in.
    participants = sum(n for _, n in places["by_province"]) + places["undeclared"]
    return {
        "agency_id": agency_id,
        "first": month_key(period.first),
        "last": month_key(period.last),
        "activity": _activity(counted, None, participants),
        "moderation": _moderation(counted["comments"], decided, median_seconds),
        "answers": answered,
        "satisfaction": _satisfaction(counted["satisfaction"]),
        "provinces": places,
        "months": months,
        "consultations": listed,
        "notes": notes,
    }


async def agency_rows(period: Period, deadline_days: int) -> list[dict[str, Any]]:
    """The headline figures of each agency that consulted or answered in the period (the public page), counted
    for all agencies at once."""
    by_agency = _Scope(None, period, by="agency")
    counted, answered = await asyncio.gather(_counted(by_agency), _answer_rows(by_agency))
    rows = []
    for agency in await db.fetch("SELECT id, slug, name_vi, name_en FROM agency ORDER BY id"):
        activity = _activity(counted, agency["id"])
        if activity["consultations_opened"] or activity["consultations_closed"] or activity["comments"]:
            rows.append({**agency, **activity})
    for row in rows:
        eased = _satisfaction(_of(counted["satisfaction"], row["id"]))
        row.update(answers=_answers(answered, deadline_days, row["id"]), ease_mean=eased["ease_mean"], ease_answers=eased["ease_answers"],
                   explained_yes_share=eased["explained_yes_share"])
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


def _key(agency_id: int | None, period: Period, public: bool) -> str:
    """Where figures are kept: the job's default period under the scope itself (for the agency's pages and
    the public one alike), any other period under the scope and its months."""
    if period == last_months(SNAPSHOT_MONTHS, period.time_zone):
        return scope_of(agency_id)
    return f"{'public' if public else scope_of(agency_id)}@{month_key(period.first)}..{month_key(period.last)}"


async def _keep(key: str, data: dict[str, Any], seconds: float) -> None:
    fields = {"first_month": data["first"], "last_month": data["last"], "data": data, "built_at": datetime.now(timezone.utc),
              "build_seconds": round(seconds, 3)}
    if await DashboardSnapshot.filter(scope=key).update(**fields):
        return
    try:
        await DashboardSnapshot.create(scope=key, **fields)
    except IntegrityError:  # another process kept the same figures first: keep the newer count
        await DashboardSnapshot.filter(scope=key).update(**fields)


async def _count(agency_id: int | None, period: Period, deadline_days: int, *, full: bool = True) -> dict[str, Any]:
    """The figures, with (``full``) the consultations and notes the agencies' own pages show; of all agencies
    with the public page's table of each agency."""
    data = await figures(agency_id, period, deadline_days, with_consultations=full)
    if agency_id is None:
        data["per_agency"] = await agency_rows(period, deadline_days)
    return data


async def build_snapshots(time_zone: str, deadline_days: int) -> list[str]:
    """Count the default period's figures of every agency that has a consultation, and of all agencies with
    the public page's table, and store them (the refresh_dashboards job); forget the other periods' figures
    that are no longer shown."""
    period = last_months(SNAPSHOT_MONTHS, time_zone)
    agency_ids = [row["agency_id"] for row in await db.fetch("SELECT DISTINCT agency_id FROM consultation ORDER BY agency_id")]
    built = []
    for agency_id in [None, *agency_ids]:
        clock = time.perf_counter()
        data = await _count(agency_id, period, deadline_days)
        await _keep(scope_of(agency_id), data, time.perf_counter() - clock)
        built.append(scope_of(agency_id))
    await DashboardSnapshot.filter(scope__contains="@", built_at__lt=datetime.now(timezone.utc) - SNAPSHOT_MAX_AGE).delete()
    return built


_DECODED: dict[str, tuple[datetime, dict[str, Any]]] = {}  # key -> (counted at, the figures): decoded once per count


async def kept(agency_id: int | None, period: Period, *, public: bool = False) -> tuple[dict[str, Any], datetime] | None:
    """The figures of this agency (None: all) and period as kept while under 30 minutes old (the job's default
    period, or another period someone asked for), and when they were counted. Each request asks the database
    only when they were counted; the figures themselves are read and decoded once per count and process."""
    key = _key(agency_id, period, public)
    rows = await db.fetch("SELECT built_at FROM dashboard_snapshot WHERE scope = $1 AND first_month = $2 AND last_month = $3 "
                          "AND built_at >= $4", key, month_key(period.first), month_key(period.last),
                          datetime.now(timezone.utc) - SNAPSHOT_MAX_AGE)
    if not rows:
        return None
    built_at = utc_time(rows[0]["built_at"])
    cached = _DECODED.get(key)
    if cached is None or cached[0] != built_at:
        found = await DashboardSnapshot.filter(scope=key).values("data", "built_at")
        if not found:
            return None
        if len(_DECODED) >= 256:
            _DECODED.clear()
        cached = _DECODED[key] = (utc_time(found[0]["built_at"]), found[0]["data"])
    return cached[1], cached[0]


_COUNTING: dict[str, "asyncio.Future[dict[str, Any]]"] = {}  # key -> the count under way in this process


async def count(agency_id: int | None, period: Period, deadline_days: int, *, public: bool = False) -> dict[str, Any]:
    """The figures counted now and kept for the next request; people asking for the same figures at once
    (in this process) wait for one count."""
    key = _key(agency_id, period, public)
    counting = _COUNTING.get(key)
    if counting is None:
        async def count_and_keep() -> dict[str, Any]:
            clock = time.perf_counter()
            # The default period's figures serve the agencies' pages and the public one alike: all of them.
            data = await _count(agency_id, period, deadline_days, full=not public or key == scope_of(agency_id))
            await _keep(key, data, time.perf_counter() - clock)
            return data

        counting = _COUNTING[key] = asyncio.ensure_future(count_and_keep())
        counting.add_done_callback(lambda _done: _COUNTING.pop(key, None))
    # Shielded: a visitor who leaves does not cancel the count the others wait for.
    return await asyncio.shield(counting)
