"""dashboard: the agency dashboard of an agency with 100 consultations and 1,000,000 comments (PostgreSQL only).

Seeds with COPY (bench.workloads.exports) 100,000 accounts and 100 consultations of one agency, 10,000 comments and
10,000 votes each, opened and closed over the last twelve months (a third answered, a third overdue, a third open).
Then times ``consult.dashboard.build_snapshots``, what the refresh_dashboards job runs (every agency and all), and
the first request for another period (which counts it), and loads GET /manage/dashboard as a signed-in official of the agency, which reads the stored figures.
Target: p99 under 200 ms.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.databases import BenchDatabase, fresh_database, log, pg_connect, require_postgres
from bench.registry import Options, workload
from bench.servers import BenchError, generate_load, serve
from bench.workloads.exports import seed_accounts, seed_consultation
from bench.workloads.participation import Browser

CONSULTATIONS = 100
COMMENTS_EACH = 10_000
VOTES_EACH = 10_000
ACCOUNTS = 100_000
OFFICIAL = "official@bench.invalid"
PASSWORD = "bench dashboard password 2026"
TARGET_P99_MS = 200.0


async def seed(database: BenchDatabase) -> dict[str, Any]:
    from consult import security

    connection = await pg_connect(database)
    try:
        started = time.perf_counter()
        await seed_accounts(connection, ACCOUNTS)
        for number in range(CONSULTATIONS):
            await seed_consultation(connection, comments=COMMENTS_EACH, votes=VOTES_EACH, responses=100, articles=5,
                                    slug=f"bench-dashboard-{number}")
        now = datetime.now(timezone.utc)
        ids = [row["id"] for row in await connection.fetch("SELECT id FROM consultation ORDER BY id")]
        for index, consultation_id in enumerate(ids):
            opened = now - timedelta(days=360 - index * 3)
            closed = opened + timedelta(days=30)
            if index % 3 == 2 or closed > now:  # still open
                await connection.execute("UPDATE consultation SET status = 'open', opened_at = $2, closed_at = NULL, "
                                         "outcome_published_at = NULL WHERE id = $1", consultation_id, opened)
            else:
                published = closed + timedelta(days=10 + index % 20) if index % 3 == 0 else None
                await connection.execute("UPDATE consultation SET status = $2, opened_at = $3, closed_at = $4, outcome_published_at = $5 "
                                         "WHERE id = $1", consultation_id, "outcome_published" if published else "closed", opened, closed, published)
            # The comments and votes fall inside their consultation's weeks.
            await connection.execute("UPDATE comment SET created_at = $2::timestamptz + (id % 2592000) * interval '1 second' WHERE consultation_id = $1",
                                     consultation_id, opened)
        await connection.execute("UPDATE vote v SET created_at = c.created_at + interval '10 minutes' FROM comment c WHERE c.id = v.comment_id")
        agency_id = await connection.fetchval("SELECT id FROM agency WHERE slug = 'bench-agency'")
        official_id = await connection.fetchval(
            "INSERT INTO account (email, display_name, password_hash, email_verified_at, session_version, created_at) "
            "VALUES ($1, 'Cán bộ', $2, now(), 1, now()) RETURNING id", OFFICIAL, security.hash_password(PASSWORD))
        await connection.execute("INSERT INTO role_grant (account_id, role, agency_id, granted_at) VALUES ($1, 'official', $2, now())",
                                 official_id, agency_id)
        await connection.execute("VACUUM ANALYZE")
        comments = await connection.fetchval("SELECT COUNT(*) FROM comment")
        return {"seed_s": round(time.perf_counter() - started, 1), "agency_id": agency_id, "comments": comments,
                "consultations": len(ids)}
    finally:
        await connection.close()


async def build(database: BenchDatabase, agency_id: int) -> dict[str, Any]:
    """Times the job that stores the default period, then the first request for another period (the first
    half of the year), which counts it: for the agency's dashboard and for the public page."""
    from consult import dashboard

    settings = database.settings
    started = time.perf_counter()
    scopes = await dashboard.build_snapshots(settings.timezone, settings.outcome_deadline_days)
    built = {"snapshots_s": round(time.perf_counter() - started, 1), "scopes": scopes}
    year = dashboard.last_months(dashboard.SNAPSHOT_MONTHS, settings.timezone)
    half = dashboard.Period(year.first, year.months()[5].first, settings.timezone)
    for name, agency, public in (("other_period_agency_s", agency_id, False), ("other_period_public_s", None, True)):
        started = time.perf_counter()
        await dashboard.count(agency, half, settings.outcome_deadline_days, public=public)
        built[name] = round(time.perf_counter() - started, 2)
    return built


def signed_in_get(base_url: str) -> list[dict[str, Any]]:
    browser = Browser(base_url)
    token = browser.csrf("/account/signin")
    status, _ = browser.request("POST", "/account/signin", {"email": OFFICIAL, "password": PASSWORD, "csrf_token": token})
    if status != 303:
        raise BenchError(f"the official could not sign in ({status})")
    status, html = browser.request("GET", "/manage/dashboard")
    if status != 200 or "Counted from the data at" not in html and "Được tính từ dữ liệu lúc" not in html:
        raise BenchError(f"GET /manage/dashboard gave {status} without the stored figures")
    return [{"method": "GET", "path": "/manage/dashboard", "headers": {"Cookie": browser.cookie_header()}}]


@workload("dashboard", f"GET /manage/dashboard of an agency with {CONSULTATIONS} consultations and "
          f"{CONSULTATIONS * COMMENTS_EACH:,} comments (PostgreSQL only), from the stored figures; and the job that stores them")
def dashboard_workload(options: Options) -> dict[str, Any]:
    with fresh_database("dashboard") as database:
        require_postgres(database, "dashboard", f"{CONSULTATIONS * COMMENTS_EACH:,} comments seeded with COPY")
        database.run_cli("migrate")
        seeded = database.run(lambda: seed(database))
        log(f"seeded {seeded['comments']:,} comments in {seeded['consultations']} consultations in {seeded['seed_s']} s")
        built = database.run(lambda: build(database, seeded["agency_id"]))
        log(f"dashboard figures counted and stored in {built['snapshots_s']} s ({', '.join(built['scopes'])}); another period counted "
            f"in {built['other_period_agency_s']} s for the agency, {built['other_period_public_s']} s for the public page")
        with serve("main:create_app", database.env, options.workers) as server:
            requests_file = database.data_dir / "dashboard-requests.json"
            requests_file.write_text(json.dumps(signed_in_get(server.base_url)), encoding="utf-8")
            figures = generate_load(server, "/manage/dashboard", options.load, database.process_title, requests_file=requests_file)
        result = {
            **{key: figures[key] for key in ("requests", "rps", "p50_ms", "p99_ms", "max_ms", "errors", "server_cpu", "database_cpu",
                                             "loader_cpu", "other_cpu")},
            **seeded, **built, "target_p99_ms": TARGET_P99_MS,
        }
        result["meets_target"] = figures["p99_ms"] < TARGET_P99_MS and not figures["errors"]
        return result
