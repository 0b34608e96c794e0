"""report: the whole report of a national-scale consultation, built by the job's own code (PostgreSQL only).

Seeds, with COPY (bench.workloads.exports), 200,000 accounts and one consultation of 1,000,000 comments (about
90% published) with 5,000,000 votes and 20,000 people's answers to four questions. Then, in this process, runs
``consult.reports.build.build`` exactly as the ``build_report`` job does, and reports its seconds, the time of
each step (counted figures, articles and questions, themes and tone over every comment, campaigns and
moderation, opinion groups over every vote), and the resident memory: the peak of this process and the tone
worker it starts, added up, and the growth over the build, sampled every 20 ms. Targets: under 120 s, peak under 1.5 GB.
"""

from __future__ import annotations

import resource
import time
from typing import Any

from bench.databases import BenchDatabase, fresh_database, log, pg_connect, require_postgres
from bench.registry import Options, workload
from bench.workloads.exports import RssSampler, seed_accounts, seed_consultation

ACCOUNTS = 200_000
COMMENTS = 1_000_000
VOTES = 5_000_000
RESPONSES = 20_000
TARGET_S = 120.0
TARGET_PEAK_MIB = 1536


async def run_report(database: BenchDatabase) -> dict[str, Any]:
    from consult.models import Report
    from consult.reports import build

    connection = await pg_connect(database)
    try:
        started = time.perf_counter()
        await seed_accounts(connection, ACCOUNTS)
        seeded = await seed_consultation(connection, comments=COMMENTS, votes=VOTES, responses=RESPONSES)
        seed_seconds = time.perf_counter() - started
        log(f"seeded {seeded['comments']:,} comments and {seeded['votes']:,} votes in {seed_seconds:.0f} s")
        await connection.execute("SELECT COUNT(*), SUM(length(body)) FROM comment")  # warm, as a running server's cache
        await connection.execute("SELECT COUNT(*) FROM vote")
    finally:
        await connection.close()
    consultation_id = seeded["consultation_id"]
    with RssSampler(children=True) as rss:
        clock = time.perf_counter()
        outcome = await build.build(consultation_id, "Asia/Ho_Chi_Minh")
        seconds = time.perf_counter() - clock
    report = await Report.get(consultation_id=consultation_id)
    data = report.data
    figures = {
        "seed_s": round(seed_seconds, 1),
        "comments": seeded["comments"], "published": seeded["published"], "votes": seeded["votes"], "responses": seeded["responses"],
        "outcome": outcome,
        "build_s": round(seconds, 1),
        "steps_s": data["timings"],
        "rss_before_mib": round(rss.before), "rss_peak_mib": round(rss.peak), "rss_growth_mib": round(rss.peak - rss.before),
        "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "themes": [(t["label"], t["size"]) for t in data["themes"]["items"]],
        "opinion": {k: data["opinion"].get(k) for k in ("status", "participants", "k", "silhouette")},
        "sentiment": {k: data["sentiment"][k] for k in ("positive", "neutral", "negative")},
        "report_json_kib": round(len(__import__("json").dumps(data)) / 1024),
        "target_s": TARGET_S, "target_peak_mib": TARGET_PEAK_MIB,
    }  # fmt: skip
    figures["meets_targets"] = seconds < TARGET_S and rss.peak < TARGET_PEAK_MIB
    log(f"report built in {seconds:.1f} s, RSS {rss.before:.0f} -> peak {rss.peak:.0f} MiB; steps {data['timings']}")
    return figures


@workload("report", f"The full report of {COMMENTS:,} comments and {VOTES:,} votes (PostgreSQL only): time per step and peak memory")
def report(options: Options) -> dict[str, Any]:
    with fresh_database("report") as database:
        require_postgres(database, "report", "1,000,000 comments and 5,000,000 votes seeded with COPY")
        database.run_cli("migrate")
        return database.run(lambda: run_report(database))
