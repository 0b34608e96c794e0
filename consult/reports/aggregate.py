"""The report's counted figures, each one SQL aggregate over the consultation's rows.

Nothing here holds more than a bounded number of rows: group-bys return one row per status, day hour,
province or article, and lists (wordings, campaigns) are cut to their top entries in SQL.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from consult import db, queries, review_queries
from consult.models import Article, CommentStatus, Stance, VoteValue
from consult.queries import _Params

TOP_WORDINGS = 5
TOP_CAMPAIGNS = 20


def _int(value: Any) -> int:
    return int(value or 0)


def utc_time(value: Any) -> datetime | None:
    """A time as the driver returns it (PostgreSQL: datetime; SQLite: text), in UTC; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _people_sql(p: _Params, consultation_id: int) -> str:
    """Everyone who took part in any way, once: authors, voters and respondents (deleted accounts drop out)."""
    return (
        f"SELECT author_id AS account_id FROM comment WHERE consultation_id = {p(consultation_id)} AND author_id IS NOT NULL "
        f"UNION SELECT v.account_id FROM vote v JOIN comment c ON c.id = v.comment_id WHERE c.consultation_id = {p(consultation_id)} "
        f"UNION SELECT account_id FROM question_response WHERE consultation_id = {p(consultation_id)}"
    )


async def participation(consultation_id: int, time_zone: str) -> dict[str, Any]:
    # Independent scans (of the votes, mostly): on PostgreSQL they run at once on the pool's connections.
    def query(sql: str) -> Any:
        p = _Params()
        return db.fetch(sql.format(c=p(consultation_id)) if "{people}" not in sql else sql.format(people=_people_sql(p, consultation_id)), *p.values)

    people_rows, status_rows, verified_comments, authors, vote_rows, voters, responses, days = await asyncio.gather(
        # Verified: an identity provider vouched for the person (consult.identity), as the account stands now.
        query("SELECT a.province, a.respondent_kind, a.identity_verified_at IS NOT NULL AS verified, COUNT(*) AS n FROM ({people}) people "
              "JOIN account a ON a.id = people.account_id GROUP BY a.province, a.respondent_kind, a.identity_verified_at IS NOT NULL"),
        query("SELECT status, parent_id IS NULL AS top_level, COUNT(*) AS n FROM comment WHERE consultation_id = {c} "
              "GROUP BY status, parent_id IS NULL"),
        query("SELECT COUNT(*) AS n FROM comment c JOIN account a ON a.id = c.author_id WHERE c.consultation_id = {c} "
              "AND c.status = 'published' AND a.identity_verified_at IS NOT NULL"),
        query("SELECT COUNT(DISTINCT author_id) AS n FROM comment WHERE consultation_id = {c}"),
        query("SELECT v.value, COUNT(*) AS n FROM vote v JOIN comment c ON c.id = v.comment_id WHERE c.consultation_id = {c} GROUP BY v.value"),
        query("SELECT COUNT(DISTINCT v.account_id) AS n FROM vote v JOIN comment c ON c.id = v.comment_id WHERE c.consultation_id = {c}"),
        query("SELECT COUNT(*) AS n FROM question_response WHERE consultation_id = {c}"),
        per_day(consultation_id, time_zone),
    )
    people = sum(_int(r["n"]) for r in people_rows)
    by_province: dict[str, int] = defaultdict(int)
    by_kind: dict[str, int] = defaultdict(int)
    for row in people_rows:
        by_province[row["province"] or ""] += _int(row["n"])
        by_kind[row["respondent_kind"] or ""] += _int(row["n"])
    comments = {s.value: 0 for s in CommentStatus}
    replies = 0
    for row in status_rows:
        comments[row["status"]] += _int(row["n"])
        if not row["top_level"]:
            replies += _int(row["n"])
    votes = {v.value: 0 for v in VoteValue}
    for row in vote_rows:
        votes[row["value"]] = _int(row["n"])
    return {
        "people": people,
        "people_verified": sum(_int(r["n"]) for r in people_rows if r["verified"]),
        "published_by_verified": _int(verified_comments[0]["n"]),
        "commenters": _int(authors[0]["n"]),
        "voters": _int(voters[0]["n"]),
        "respondents": _int(responses[0]["n"]),
        "comments": comments,
        "comments_total": sum(comments.values()),
        "replies": replies,
        "votes": votes,
        "votes_total": sum(votes.values()),
        "responses": _int(responses[0]["n"]),
        "per_day": days,
        # Sorted by count, the undeclared ("") kept apart so the page can say how many did not say.
        "by_province": sorted(([k, n] for k, n in by_province.items() if k), key=lambda item: (-item[1], item[0])),
        "province_undeclared": by_province.get("", 0),
        "by_kind": sorted(([k, n] for k, n in by_kind.items() if k), key=lambda item: (-item[1], item[0])),
        "kind_undeclared": by_kind.get("", 0),
    }


async def per_day(consultation_id: int, time_zone: str) -> list[list[Any]]:
    """Comments, votes and responses per day in the site's time zone. The database groups by UTC hour
    (the same SQL on both databases, at most 24 rows a day); the hours fall into local days here."""
    zone = ZoneInfo(time_zone)
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    sources = (
        "SELECT {hour} AS hour, COUNT(*) AS n FROM comment WHERE consultation_id = $1 GROUP BY {hour}",
        "SELECT {hour} AS hour, COUNT(*) AS n FROM vote v JOIN comment c ON c.id = v.comment_id WHERE c.consultation_id = $1 GROUP BY {hour}",
        "SELECT {hour} AS hour, COUNT(*) AS n FROM question_response WHERE consultation_id = $1 GROUP BY {hour}",
    )
    columns = ("created_at", "v.created_at", "created_at")
    results = await asyncio.gather(*(db.fetch(sql.format(hour=_hour(column)), consultation_id) for sql, column in zip(sources, columns)))
    for index, rows in enumerate(results):
        for row in rows:
            if row["hour"] is None:
                continue
            local = _hour_value(row["hour"]).astimezone(zone).date().isoformat()
            days[local][index] += _int(row["n"])
    return [[day, *counts] for day, counts in sorted(days.items())]


def _hour(column: str) -> str:
    if db.dialect() == "sqlite":
        # Tortoise stores times as ISO text with their offset (UTC); the first 13 characters are the hour.
        return f"substr({column}, 1, 13)"
    return f"date_trunc('hour', {column})"


def _hour_value(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.strptime(value[:13], "%Y-%m-%dT%H" if "T" in value else "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
    return utc_time(value)


async def articles(consultation_id: int) -> list[dict[str, Any]]:
    """Each article (and the whole draft, id None) with its published comments by stance and the
    proposed wordings, grouped when they are the same text (ignoring case and surrounding space)."""
    parts = await Article.filter(consultation_id=consultation_id).order_by("position").values("id", "label", "title")
    tallies = await queries.comment_tallies(consultation_id)
    wordings = await _wordings(consultation_id)
    rows = []
    for article in [{"id": None, "label": "", "title": ""}, *parts]:
        tally = tallies.get(article["id"], {"total": 0, **{s.value: 0 for s in Stance}})
        rows.append({
            "id": article["id"],
            "label": article["label"],
            "title": article["title"],
            "comments": tally["total"],
            "stance": {s.value: tally.get(s.value, 0) for s in Stance},
            "wordings": wordings.get(article["id"], {"groups": [], "distinct": 0, "total": 0}),
            "themes": [],
        })
    return rows


async def _wordings(consultation_id: int) -> dict[int | None, dict[str, Any]]:
    p = _Params()
    base = (
        f"SELECT article_id, lower(trim(proposed_wording)) AS wording, COUNT(*) AS n, MIN(id) AS first_id "
        f"FROM comment WHERE consultation_id = {p(consultation_id)} AND status = 'published' AND parent_id IS NULL "
        f"AND proposed_wording IS NOT NULL GROUP BY article_id, lower(trim(proposed_wording))"
    )
    ranked = await db.fetch(
        f"SELECT article_id, wording, n, first_id, rank_in_article, groups_in_article, total_in_article FROM ("
        f"SELECT article_id, wording, n, first_id, "
        f"ROW_NUMBER() OVER (PARTITION BY article_id ORDER BY n DESC, first_id) AS rank_in_article, "
        f"COUNT(*) OVER (PARTITION BY article_id) AS groups_in_article, "
        f"SUM(n) OVER (PARTITION BY article_id) AS total_in_article FROM ({base}) grouped) ranked "
        f"WHERE rank_in_article <= {TOP_WORDINGS} ORDER BY article_id, rank_in_article",
        *p.values,
    )
    if not ranked:
        return {}
    # The text shown is the first comment's own wording (with its case), and it links to that comment.
    first_ids = [int(r["first_id"]) for r in ranked]
    p = _Params()
    texts = {
        int(r["id"]): r["proposed_wording"]
        for r in await db.fetch(f"SELECT id, proposed_wording FROM comment WHERE id IN ({', '.join(p(i) for i in first_ids)})", *p.values)
    }
    result: dict[int | None, dict[str, Any]] = {}
    for row in ranked:
        entry = result.setdefault(row["article_id"], {"groups": [], "distinct": _int(row["groups_in_article"]), "total": _int(row["total_in_article"])})
        entry["groups"].append({"text": texts.get(int(row["first_id"]), ""), "count": _int(row["n"]), "comment_id": int(row["first_id"])})
    return result


async def questions(consultation_id: int) -> list[dict[str, Any]]:
    """Counts and shares per option; for the 1-5 scale also the mean and the distribution."""
    results = await queries.question_results(consultation_id)
    out = []
    for question in results:
        answered = question["answered"]
        item: dict[str, Any] = {
            "id": question["id"], "kind": question["kind"], "prompt": question["prompt"], "answered": answered,
            "options": [
                {"label": o["label"], "value": o["value"], "count": o["count"], "share": (o["count"] / answered) if answered else 0.0}
                for o in question["results"]
            ],
            "scale": None,
            "text": None,
        }
        if question["kind"] == "scale":
            counted = sum(o["count"] for o in question["results"])
            total = sum(o["value"] * o["count"] for o in question["results"])
            item["scale"] = {"count": counted, "mean": (total / counted) if counted else None, "distribution": [o["count"] for o in question["results"]]}
        out.append(item)
    return out


async def campaigns(consultation_id: int) -> dict[str, Any]:
    """Near-identical groups found by the moderation screening, each shown once with its count."""
    p = _Params()
    rows = await db.fetch(
        f"SELECT id, size, first_seen, last_seen FROM campaign WHERE consultation_id = {p(consultation_id)} AND size > 1 "
        f"ORDER BY size DESC, id LIMIT {TOP_CAMPAIGNS}",
        *p.values,
    )
    p = _Params()
    totals = await db.fetch(
        f"SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS comments FROM campaign WHERE consultation_id = {p(consultation_id)} AND size > 1",
        *p.values,
    )
    items = []
    if rows:
        ids = [int(r["id"]) for r in rows]
        p = _Params()
        marks = ", ".join(p(i) for i in ids)
        statuses = await db.fetch(
            f"SELECT campaign_id, status, COUNT(*) AS n, MIN(id) AS first_id FROM comment WHERE campaign_id IN ({marks}) GROUP BY campaign_id, status",
            *p.values,
        )
        by_campaign: dict[int, dict[str, int]] = defaultdict(dict)
        # The text shown is the first copy that was published: a rejected copy's text never reaches the report,
        # which becomes public with the outcome.
        first: dict[int, int] = {}
        for row in statuses:
            cid = int(row["campaign_id"])
            by_campaign[cid][row["status"]] = _int(row["n"])
            if row["status"] == "published":
                first[cid] = int(row["first_id"])
        p = _Params()
        examples = {
            int(r["id"]): r["body"]
            for r in await db.fetch(f"SELECT id, body FROM comment WHERE id IN ({', '.join(p(i) for i in first.values())})", *p.values)
        } if first else {}
        for row in rows:
            cid = int(row["id"])
            items.append({
                "id": cid, "size": _int(row["size"]),
                "first_seen": utc_time(row["first_seen"]).isoformat(), "last_seen": utc_time(row["last_seen"]).isoformat(),
                "statuses": by_campaign.get(cid, {}),
                "example": {"comment_id": first.get(cid), "text": _excerpt(examples.get(first.get(cid), ""))},
            })
    return {"groups": _int(totals[0]["n"]), "comments": _int(totals[0]["comments"]), "items": items}


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


async def moderation(consultation_id: int) -> dict[str, Any]:
    return await review_queries.transparency(consultation_id)


async def covered_ids(consultation_id: int) -> dict[str, int]:
    """The newest comment, vote and response of the consultation: what a snapshot covers."""
    p = _Params()
    rows = await db.fetch(
        f"SELECT (SELECT COALESCE(MAX(id), 0) FROM comment WHERE consultation_id = {p(consultation_id)}) AS comment, "
        f"(SELECT COALESCE(MAX(v.id), 0) FROM vote v JOIN comment c ON c.id = v.comment_id WHERE c.consultation_id = {p(consultation_id)}) AS vote, "
        f"(SELECT COALESCE(MAX(id), 0) FROM question_response WHERE consultation_id = {p(consultation_id)}) AS response",
        *p.values,
    )
    return {key: _int(rows[0][key]) for key in ("comment", "vote", "response")}
