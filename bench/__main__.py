"""python -m bench: run one workload and print its figures, the last line being one JSON object.

    python -m bench --list
    python -m bench home_page [--duration 10] [--warmup 2] [--connections 32] [--workers 2] [--record]

PostgreSQL and Redis are used when CONSULT_BENCH_DATABASE_URL and CONSULT_BENCH_REDIS_URL are set, SQLite
and in-process jobs otherwise. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import report
from bench.cpu import idle_percent
from bench.databases import Backends, backends
from bench.registry import Options, all_workloads
from bench.servers import BenchError, LoadOptions

IDLE_WARNING_PCT = 95.0
# Cores that other processes may use during a measured window before a result is too skewed to record.
MAX_OTHER_CPU = 0.15


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    workloads = all_workloads()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", nargs="?", help="one of --list")
    parser.add_argument("--list", action="store_true", help="name the workloads and stop")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per server (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--record", action="store_true", help="also put the result in BENCHMARKS.md")
    args = parser.parse_args(argv)

    if args.list:
        width = max(map(len, workloads))
        for workload in workloads.values():
            print(f"{workload.name:<{width}}  {workload.description}")
        return 0
    if args.workload not in workloads:
        parser.error(f"name a workload: {', '.join(workloads)}")
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    # A plain `kill` must stop the servers too: turn SIGTERM into an exception that unwinds their `with` blocks.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    chosen = backends()
    idle = idle_percent()
    if idle < IDLE_WARNING_PCT:
        print(f"warning: the machine was only {idle}% idle before the run; the figures will be low", file=sys.stderr)
    options = Options(workers=args.workers, load=LoadOptions(args.connections, args.duration, args.warmup))
    try:
        figures = workloads[args.workload].run(options)
    except BenchError as error:
        print(f"bench: {args.workload} failed: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the servers were stopped and the database dropped on the way out
        print(f"bench: {args.workload} interrupted", file=sys.stderr)
        return 130

    result: dict[str, Any] = {
        "workload": args.workload,
        "db": chosen.db,
        "redis": chosen.redis,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        **figures,
        "date": report.utc_now(),
        "machine": report.machine(),
        "idle_before_pct": idle,
    }
    for line in report.summary(result):
        print(line)
    failed = result.get("errors", 0) + result.get("limit_errors", 0)
    other_cpu = max((value for key, value in result.items() if key.endswith("other_cpu")), default=0.0)
    problem = None
    if failed:
        problem = f"{failed} requests failed"
    elif other_cpu > MAX_OTHER_CPU:
        problem = f"other processes used up to {other_cpu} cores during the run"
    if problem:
        print(f"bench: {problem}; the figures are not comparable{'; not recorded' if args.record else ''}", file=sys.stderr)
    elif args.record:
        report.record(result, command_line(chosen, argv))
        print(f"recorded in {report.BENCHMARKS_FILE.name}")
    print(json.dumps(result, ensure_ascii=False))
    return 1 if failed else 0


def command_line(chosen: Backends, argv: list[str]) -> str:
    """The command that re-runs this workload on the same backends (passwords hidden)."""
    env = []
    if chosen.database_server_url:
        env.append(f"CONSULT_BENCH_DATABASE_URL={_without_password(chosen.database_server_url)}")
    if chosen.redis_url:
        env.append(f"CONSULT_BENCH_REDIS_URL={_without_password(chosen.redis_url)}")
    return " ".join(env + ["python -m bench", shlex.join(arg for arg in argv if arg != "--record")])


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


if __name__ == "__main__":
    sys.exit(main())
