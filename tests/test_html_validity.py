"""Every page of the registry is valid HTML according to the Nu HTML checker (vnu.jar, npm package vnu-jar).

The pages are rendered in-process (httpx over ASGI) with the cookies of the role that views them, in both
languages, written to a temporary folder, and checked in one run of the checker (one JVM start). A few
form pages are added in their error state, because the error summary and aria-invalid markup only appear
there. The checker is found through the CONSULT_TEST_VNU_JAR setting; install it with
``npm install --prefix .ci/npm vnu-jar``.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from tests.conftest import ENV_SETTINGS, ROOT, missing
from tests.helpers import post_form
from tests.site import PAGES, seed_world, session_cookie

LANGUAGES = ("vi", "en")

# Checker messages accepted on purpose: exact message text -> why it is acceptable. Keep it empty unless a
# message is a false positive or a deliberate choice; every entry needs its reason.
ALLOWED_MESSAGES: dict[str, str] = {}

# Form pages in their error state (submitted empty): (name, role, form page, form action); the addresses
# may be built from the seeded world.
ERROR_STATES = [
    ("sign up, with errors", "anonymous", "/account/signup", "/account/signup"),
    ("sign in, with errors", "anonymous", "/account/signin", "/account/signin"),
    ("forgotten password, with errors", "anonymous", "/account/reset", "/account/reset"),
    ("your account, with errors", "citizen", "/account", "/account"),
    ("change password, with errors", "citizen", "/account/password", "/account/password"),
    ("administration, with errors", "admin", "/admin", "/admin/agencies"),
    ("administration, topic with errors", "admin", "/admin", "/admin/topics"),
    ("edit a draft, with errors", "official", lambda w: f"/manage/{w.draft_id}", lambda w: f"/manage/{w.draft_id}"),
    ("a draft, question with errors", "official", lambda w: f"/manage/{w.draft_id}", lambda w: f"/manage/{w.draft_id}/questions"),
    ("a draft, attachment with errors", "official", lambda w: f"/manage/{w.draft_id}", lambda w: f"/manage/{w.draft_id}/attachments"),
    ("edit a question, with errors", "official", lambda w: f"/manage/questions/{w.question_id}", lambda w: f"/manage/questions/{w.question_id}"),
]


def vnu_jar() -> Path:
    jar = Path(ENV_SETTINGS.test_vnu_jar)
    if not jar.is_absolute():
        jar = ROOT / jar
    if not jar.is_file():
        missing(f"the Nu HTML checker is not at {jar}; install with: npm install --prefix .ci/npm vnu-jar")
    if shutil.which("java") is None:
        missing("java is not installed (the Nu HTML checker runs on Java 11 or newer)")
    return jar


def file_name(index: int, name: str, language: str) -> str:
    return f"{index:03d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}-{language}.html"


def address(path, world) -> str:
    return path(world) if callable(path) else path


async def render_pages(app, settings, folder: Path) -> dict[str, str]:
    """Writes every page (both languages, plus the error states) to the folder: file name -> page name."""
    world = await seed_world(settings)
    cookies = {role: await session_cookie(app, role) for role in {p.role for p in PAGES} | {r for _, r, _, _ in ERROR_STATES}}
    written: dict[str, str] = {}

    def client(role: str, language: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            cookies={**cookies[role], "lang": language},
        )

    def write(name: str, language: str, response: httpx.Response) -> None:
        assert response.headers["content-type"].startswith("text/html"), name
        path = folder / file_name(len(written), name, language)
        path.write_bytes(response.content)
        written[path.name] = f"{name} [{language}]"

    for language in LANGUAGES:
        for page in PAGES:
            async with client(page.role, language) as c:
                response = await c.get(page.url(world))
            assert response.status_code == page.status, f"{page.name}: {response.status_code}"
            write(page.name, language, response)
        for name, role, form_page, action in ERROR_STATES:
            async with client(role, language) as c:
                response = await post_form(c, address(action, world), {}, page=address(form_page, world))
            assert response.status_code == 400, f"{name}: {response.status_code}"
            write(name, language, response)
    return written


async def run_checker(jar: Path, files: list[Path]) -> list[dict]:
    process = await asyncio.create_subprocess_exec(
        "java", "-Xss8m", "-jar", str(jar), "--errors-only", "--format", "json", *map(str, files),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=300)
    # The JSON report goes to standard error; the exit status is 1 when there is any error.
    try:
        report = json.loads(stderr.decode("utf-8"))
    except ValueError:
        raise AssertionError(f"the checker did not answer in JSON (exit {process.returncode}):\n{stderr.decode()}\n{stdout.decode()}")
    return report["messages"]


async def test_every_page_is_valid_html(app, settings, tmp_path):
    jar = vnu_jar()
    written = await render_pages(app, settings, tmp_path)
    assert len(written) == len(LANGUAGES) * (len(PAGES) + len(ERROR_STATES))
    messages = await run_checker(jar, sorted(tmp_path / name for name in written))

    errors, allowed = [], []
    for message in messages:
        page = written.get(Path(unquote(urlsplit(message.get("url", "")).path)).name, message.get("url", "?"))
        line = f"{page}: line {message.get('lastLine', '?')}: {message.get('message')}"
        if message.get("extract"):
            line += f"  [{message['extract'].strip()}]"
        if message.get("type") == "error" and message.get("message") in ALLOWED_MESSAGES:
            allowed.append(line)
        elif message.get("type") in ("error", "non-document-error", "fatal"):
            errors.append(line)
    print(f"\nNu HTML checker: {len(written)} pages, {len(errors)} errors, {len(allowed)} allowed")
    assert not errors, "invalid HTML:\n" + "\n".join(errors)
