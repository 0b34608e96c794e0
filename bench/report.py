"""What describes a run (machine, date), the human summary, and BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.servers import REPO_ROOT

BENCHMARKS_FILE = REPO_ROOT / "BENCHMARKS.md"
TABLE_START = "<!-- bench:results:start (python -m bench NAME --record rewrites what is between these markers) -->"
TABLE_END = "<!-- bench:results:end -->"
TABLE_HEADER = [
    "| Date (UTC) | Workload | Database | Workers | Conns | req/s | p50 ms | p99 ms "
    "| Limit req/s | Limit p50 ms | Limit p99 ms | Ratio | Errors | Machine | Command |",
    "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
]


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def machine() -> str:
    """Cores, CPU model, memory, kernel and Python: enough to tell whether two results can be compared."""
    cpu = _first_value(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown CPU"
    memory_kb = _first_value(Path("/proc/meminfo"), "MemTotal")
    memory = f", {int(memory_kb.split()[0]) / 2**20:.0f} GiB" if memory_kb else ""
    return f"{os.cpu_count()} cores {cpu}{memory}, Linux {platform.release()}, Python {platform.python_version()}"


def _first_value(file: Path, key: str) -> str | None:
    try:
        lines = file.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def database_label(result: dict[str, Any]) -> str:
    return result["db"] + (" + redis" if result["redis"] else "")


def summary(result: dict[str, Any]) -> list[str]:
    """Human-readable lines for a result (the JSON line follows them)."""
    lines = [
        f"{result['workload']} on {database_label(result)}, {result['workers']} uvicorn workers, "
        f"{result['connections']} connections, {result['duration_s']:g} s measured after {result['warmup_s']:g} s warm-up"
    ]
    if "rps" in result:
        lines.append("  app    " + _load_line(result, ""))
    if "limit_rps" in result:
        lines.append("  limit  " + _load_line(result, "limit_"))
        lines.append(f"  ratio  {result['ratio']} (app req/s / limit req/s)")
    if "lost" in result:
        lines.append(
            f"  check  {result['confirmed']:,} comments confirmed (303), {result['stored']:,} stored, {result['lost']} lost; "
            f"{result['unanswered_at_end']} unanswered when the load stopped; screening jobs queued: {result['screening_jobs_queued']}"
        )
    lines.append(f"  machine {result['machine']}, {result['idle_before_pct']}% idle before the run")
    return lines


def _load_line(result: dict[str, Any], prefix: str) -> str:
    def figure(key: str) -> Any:
        return result[prefix + key]

    database = f", database {figure('database_cpu'):.2f}" if figure("database_cpu") else ""
    return (
        f"{figure('rps'):>9,.1f} req/s  p50 {figure('p50_ms'):.2f} ms  p99 {figure('p99_ms'):.2f} ms  "
        f"max {figure('max_ms'):.1f} ms  ({figure('requests'):,} requests, {figure('errors')} errors; cores used by "
        f"the server {figure('server_cpu'):.2f}{database}, load generator {figure('loader_cpu'):.2f}, "
        f"other processes {figure('other_cpu'):.2f})"
    )


def record(result: dict[str, Any], command: str) -> None:
    """Put the result in BENCHMARKS.md's table: a re-run of the same command on the same machine replaces its row."""
    text = BENCHMARKS_FILE.read_text(encoding="utf-8") if BENCHMARKS_FILE.exists() else "# Benchmarks\n"
    if TABLE_START not in text:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + TABLE_START + "\n" + "\n".join(TABLE_HEADER) + "\n" + TABLE_END + "\n"
    head, rest = text.split(TABLE_START, 1)
    table, tail = rest.split(TABLE_END, 1)
    rows = [line for line in table.strip().splitlines() if line.startswith("|") and line not in TABLE_HEADER]
    new_row = _table_row(result, command)
    key = _row_key(new_row)
    rows = [row for row in rows if _row_key(row) != key] + [new_row]
    table = "\n".join(TABLE_HEADER + rows)
    BENCHMARKS_FILE.write_text(f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}", encoding="utf-8")


def _table_row(result: dict[str, Any], command: str) -> str:
    def number(key: str, digits: int = 1) -> str:
        value = result.get(key)
        return "" if value is None else f"{value:,.{digits}f}"

    cells = [
        result["date"],
        result["workload"],
        database_label(result),
        str(result["workers"]),
        str(result["connections"]),
        number("rps"),
        number("p50_ms", 2),
        number("p99_ms", 2),
        number("limit_rps"),
        number("limit_p50_ms", 2),
        number("limit_p99_ms", 2),
        number("ratio", 3),
        str(result.get("errors", 0) + result.get("limit_errors", 0)),
        result["machine"],
        f"`{command}`",
    ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _row_key(row: str) -> tuple[str, str]:
    cells = [cell.strip() for cell in row.strip().strip("|").split(" | ")]
    return cells[-2], cells[-1]  # machine, command
