"""The command line, as a person runs it: migrate, demo (twice), createadmin, and a served app whose
database is down answering /healthz with 503."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args, data_dir, stdin="", extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"CONSULT_DATA_DIR": str(data_dir), "CONSULT_LOG_LEVEL": "WARNING", **(extra_env or {})})
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_migrate_demo_twice_and_createadmin(tmp_path):
    migrated = run(["migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "consult.sqlite3").exists() and (tmp_path / "secret_key").exists()

    first = run(["demo"], tmp_path)
    assert first.returncode == 0, first.stderr
    second = run(["demo"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "(0 new records)" in second.stdout
    assert "(0 new records)" not in first.stdout
    password = (tmp_path / "demo_password").read_text().strip()
    assert password in second.stdout

    weak = run(["createadmin", "--email", "root@example.vn", "--name", "Root"], tmp_path, stdin="password\n")
    assert weak.returncode != 0 and "Traceback" not in weak.stderr
    made = run(["createadmin", "--email", "root@example.vn", "--name", "Root"], tmp_path, stdin="a long and quiet river\n")
    assert made.returncode == 0, made.stderr
    assert "root@example.vn" in made.stdout


def test_help_lists_the_subcommands(tmp_path):
    result = run(["--help"], tmp_path)
    for name in ("migrate", "createadmin", "demo", "worker"):
        assert name in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULT_")}
    env.update({"CONSULT_DATA_DIR": str(tmp_path), "DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/none"})
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:create_app", "--factory", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                raise AssertionError("healthz said 200 with no database")
            except urllib.error.HTTPError as error:
                assert error.code == 503
                with error:
                    body = json.loads(error.read())
                assert body["database"] == "unreachable"
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "server did not start"
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.1)
        page = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Accept-Language": "en"})
        try:
            urllib.request.urlopen(page, timeout=5)
            raise AssertionError("home page rendered with no database")
        except urllib.error.HTTPError as error:
            with error:
                html = error.read().decode()
            assert error.code == 500
            assert "Sorry, there is a problem with the service" in html and "Traceback" not in html
            assert "frame-ancestors 'none'" in error.headers["Content-Security-Policy"]
            assert error.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        server.terminate()
        server.communicate(timeout=10)


def test_several_web_processes_need_postgres_and_redis(tmp_path):
    result = run(["--workers", "2"], tmp_path)
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr and "Traceback" not in result.stderr
