"""Consult's benchmark harness: `python -m bench --list`, `python -m bench NAME`. See BENCHMARKS.md.

Each workload seeds its own database, serves the app as in production (uvicorn workers with uvloop) and
loads it from another process (bench.load), then compares with the limit it is measured against.
"""
