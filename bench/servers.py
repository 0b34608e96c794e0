"""Serving an app as in production (uvicorn, several workers, uvloop, httptools) and loading it from another process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.cpu import CpuShares

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
LOAD_GRACE_S = 30.0  # beyond its own warm-up and duration, for the load generator to start and report


class BenchError(RuntimeError):
    """Something the harness needs did not work; the message says what."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_command(args: list[str], env: dict[str, str]) -> str:
    """Run a short command from the repository root; its output, or BenchError with that output."""
    done = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def fetch(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass(frozen=True)
class Server:
    base_url: str
    process_group: int  # the uvicorn supervisor's and its workers'


@contextmanager
def serve(app_factory: str, env: dict[str, str], workers: int) -> Iterator[Server]:
    """Serve `module:factory` with uvicorn until the block ends; yields it once its /healthz answers 200."""
    port = free_port()
    args = [
        sys.executable, "-m", "uvicorn", app_factory, "--factory",
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools",  # without uvloop, keep-alive requests hit Nagle (stack-notes gotcha 6)
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    # Its own session (process group), so that stopping it also stops its workers, and so that a Ctrl+C in the
    # terminal reaches only the harness, which then stops the server itself.
    server = subprocess.Popen(args, env=env, cwd=REPO_ROOT, start_new_session=True)
    base_url = f"http://{HOST}:{port}"
    try:
        wait_until_ready(server, base_url + "/healthz")
        yield Server(base_url, process_group=server.pid)
    finally:
        stop(server)


def wait_until_ready(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"the server exited with status {server.returncode} before it was ready")
        try:
            status, body = fetch(url, timeout=1.0)
        except OSError:  # not listening yet
            status, body = 0, b""
        if status == 200:
            return
        if status:
            raise BenchError(f"{url} answered {status}: {body[:500]!r}")
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {READY_TIMEOUT_S:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    # The supervisor is gone; make sure none of its workers outlived it.
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass(frozen=True)
class LoadOptions:
    connections: int
    duration: float
    warmup: float


def generate_load(
    server: Server, path: str, options: LoadOptions, database_title: str | None = None, requests_file: Path | None = None
) -> dict:
    """Run bench.load against `path` on `server` in a separate process: its figures, and the cores used over
    the measured window by the server, its database (see cpu.process_ticks), the load generator, and others."""
    args = [
        sys.executable, "-m", "bench.load", server.base_url + path,
        "--connections", str(options.connections),
        "--duration", str(options.duration),
        "--warmup", str(options.warmup),
        *(["--requests", str(requests_file)] if requests_file else []),
    ]  # fmt: skip
    loader = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        shares = CpuShares(server.process_group, loader.pid, database_title)
        time.sleep(options.warmup)
        shares.start()
        time.sleep(options.duration)
        cpu = shares.stop()
        stdout, stderr = loader.communicate(timeout=options.duration + LOAD_GRACE_S)
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()
    if loader.returncode != 0:
        raise BenchError(f"the load generator failed ({loader.returncode}):\n{stderr}")
    return {**json.loads(stdout.strip().splitlines()[-1]), **cpu}
