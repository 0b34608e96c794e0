"""HTTP/1.1 keep-alive load generator for loopback, run in its own process so it never shares an event loop
with the server it measures.

    python -m bench.load http://127.0.0.1:8000/ --connections 32 --duration 10 --warmup 2
    python -m bench.load http://127.0.0.1:8000/ --requests requests.json   (other methods, bodies, cookies)

Each connection sends one GET, waits for the whole response and sends the next (no pipelining), like wrk.
Responses are parsed by httptools (the C parser uvicorn uses) in asyncio protocols on uvloop, so the client
spends about 40 us of CPU per response and leaves the cores to the server (the harness reports its share). Requests that complete during the measured window (after the
warm-up) are counted; their latency is time from write to the last byte. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from urllib.parse import urlsplit

import httptools

# It loads this machine's own test servers only, for a bounded time with a bounded number of connections.
ALLOWED_HOST = "127.0.0.1"
MAX_CONNECTIONS = 1024
MAX_SECONDS = 300
RECONNECT_DELAY_S = 0.01


class Run:
    """Shared state of one load run: the request bytes, the measured window and what was measured."""

    def __init__(
        self, host: str, port: int, path: str, connections: int, warmup: float, duration: float, timeout: float,
        requests: list[dict] | None = None,
    ):
        self.host = host
        self.port = port
        # One request, or one per connection in turn (each signed-in connection its own cookie and token).
        self.requests = [build_request(host, port, spec) for spec in requests] if requests else [build_request(host, port, {"path": path})]
        self.connection_count = 0
        self.all_statuses: dict[int, int] = {}  # over the whole run, warm-up and tail included: what the server did
        self.connections = connections
        self.timeout = timeout
        self.warmup = warmup
        self.duration = duration
        self.window_start = 0.0
        self.window_end = 0.0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.socket_errors = 0
        self.timeouts = 0
        self.bytes_received = 0
        self.responses = 0  # all of them, warm-up included, to go with bytes_received
        self.open: set[Connection] = set()
        self.reconnecting: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

    def measuring(self, now: float) -> bool:
        return self.window_start <= now < self.window_end

    def finished(self, now: float) -> bool:
        return now >= self.window_end

    def count_error(self, now: float, timed_out: bool = False) -> None:
        if self.measuring(now):
            if timed_out:
                self.timeouts += 1
            else:
                self.socket_errors += 1

    async def connect(self, delay: float = 0.0) -> Connection | None:
        if delay:
            await asyncio.sleep(delay)
        if self.finished(time.perf_counter()):
            return None
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(lambda: Connection(self), self.host, self.port)
        except OSError:
            self.count_error(time.perf_counter())
            self.reconnect()
            return None
        return connection

    def reconnect(self) -> None:
        task = asyncio.get_running_loop().create_task(self.connect(RECONNECT_DELAY_S))
        self.reconnecting.add(task)
        task.add_done_callback(self.reconnecting.discard)


def build_request(host: str, port: int, spec: dict) -> bytes:
    """HTTP/1.1 request bytes from {"method", "path", "headers", "body"} (method GET and no body by default)."""
    body = spec.get("body", "").encode("utf-8")
    headers = {"Host": f"{host}:{port}", "User-Agent": "consult-bench", "Accept": "text/html", **spec.get("headers", {})}
    if body:
        headers["Content-Length"] = str(len(body))
    head = f"{spec.get('method', 'GET')} {spec['path']} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


class Connection(asyncio.Protocol):
    def __init__(self, run: Run):
        self.run = run
        self.request = run.requests[run.connection_count % len(run.requests)]
        run.connection_count += 1
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.sent_at: float | None = None  # set while a request is waiting for its response
        self.closing = False
        self.answered = asyncio.get_running_loop().create_future()  # done at the first response or the end

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.run.open.add(self)
        self.send()

    def data_received(self, data: bytes) -> None:
        self.run.bytes_received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.fail(time.perf_counter())

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.open.discard(self)
        if not self.answered.done():
            self.answered.set_result(None)
        if self.closing:
            return
        now = time.perf_counter()
        if self.sent_at is not None:  # the server closed the connection on an unanswered request
            self.run.count_error(now)
        if not self.run.finished(now):
            self.run.reconnect()

    # --- httptools callback ---

    def on_message_complete(self) -> None:
        now = time.perf_counter()
        run = self.run
        run.responses += 1
        status = self.parser.get_status_code()
        run.all_statuses[status] = run.all_statuses.get(status, 0) + 1
        if not self.answered.done():
            self.answered.set_result(None)
        if run.measuring(now) and self.sent_at is not None:
            run.latencies.append(now - self.sent_at)
            run.statuses[status] = run.statuses.get(status, 0) + 1
        self.sent_at = None
        if not self.parser.should_keep_alive():
            self.close()
            if not run.finished(now):
                run.reconnect()
            return
        self.send()

    # --- ours ---

    def send(self) -> None:
        now = time.perf_counter()
        if self.run.finished(now):
            self.close()
            return
        self.sent_at = now
        self.transport.write(self.request)  # type: ignore[union-attr]

    def fail(self, now: float, timed_out: bool = False) -> None:
        """Count the request as failed and start over on a new connection."""
        self.run.count_error(now, timed_out)
        self.sent_at = None
        self.close()
        if not self.run.finished(now):
            self.run.reconnect()

    def close(self) -> None:
        self.closing = True
        self.run.open.discard(self)
        if self.transport is not None:
            self.transport.close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


async def generate(run: Run) -> dict:
    start = time.perf_counter()
    run.window_start = start + run.warmup
    run.window_end = run.window_start + run.duration
    # Open the connections one at a time, each once the previous one has been answered or a short while has
    # passed. Opened all at once, they wait together in the listening socket's backlog and one uvicorn worker
    # may accept every one of them, leaving the other idle: some runs then measured half the throughput.
    ramp_wait = run.warmup / 2 / run.connections
    for _ in range(run.connections):
        connection = await run.connect()
        if connection is not None:
            await asyncio.wait({connection.answered}, timeout=ramp_wait)

    # Watch for requests that hang.
    while True:
        now = time.perf_counter()
        if run.finished(now):
            break
        for connection in list(run.open):
            if connection.sent_at is not None and now - connection.sent_at > run.timeout:
                connection.fail(now, timed_out=True)
        await asyncio.sleep(min(0.1, max(0.0, run.window_end - now)))

    unanswered = sum(1 for connection in run.open if connection.sent_at is not None)
    for connection in list(run.open):
        connection.close()

    latencies = sorted(run.latencies)
    requests = len(latencies)
    # A form's success is a 303 to the next page: for POST runs, redirects count as successes.
    posting = any(not request.startswith(b"GET ") for request in run.requests)
    non_2xx = sum(count for status, count in run.statuses.items() if not (200 <= status < 300 or (posting and status == 303)))
    return {
        "requests": requests,
        "rps": round(requests / run.duration, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else 0.0,
        "statuses": {str(status): count for status, count in sorted(run.statuses.items())},
        "all_statuses": {str(status): count for status, count in sorted(run.all_statuses.items())},
        # Sent but unanswered when the run ended: the server may still have done them.
        "unanswered": unanswered,
        "non_2xx": non_2xx,
        "socket_errors": run.socket_errors,
        "timeouts": run.timeouts,
        "errors": non_2xx + run.socket_errors + run.timeouts,
        # Bytes received (headers included) per response over the whole run: a check on the page's size.
        "bytes_per_response": run.bytes_received // run.responses if run.responses else 0,
        "connections": run.connections,
        "duration_s": run.duration,
        "warmup_s": run.warmup,
    }


def parse_target(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != ALLOWED_HOST or parts.port is None:
        raise ValueError(f"the load generator only targets http://{ALLOWED_HOST}:PORT/..., not {url!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname, parts.port, path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help=f"http://{ALLOWED_HOST}:PORT/path")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured, after the warm-up")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--timeout", type=float, default=5.0, help="a response slower than this counts as an error")
    parser.add_argument("--requests", help="JSON file: a list of {method, path, headers, body}, one per connection in turn")
    args = parser.parse_args(argv)
    try:
        host, port, path = parse_target(args.url)
    except ValueError as error:
        parser.error(str(error))
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        parser.error(f"--connections must be between 1 and {MAX_CONNECTIONS}")
    if not (0 < args.duration and 0 <= args.warmup and args.duration + args.warmup <= MAX_SECONDS):
        parser.error(f"--duration must be positive and --warmup + --duration at most {MAX_SECONDS} s")

    requests = None
    if args.requests:
        with open(args.requests, encoding="utf-8") as handle:
            requests = json.load(handle)
    run = Run(host, port, path, args.connections, args.warmup, args.duration, args.timeout, requests)
    try:
        import uvloop
    except ImportError:  # the plain asyncio loop works, only more slowly
        result = asyncio.run(generate(run))
    else:
        result = uvloop.run(generate(run))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
