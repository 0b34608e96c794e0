"""Security headers on every response a browser can get, and no inline code in any page.

Every page of the registry (tests/site.py), in both languages, plus the health check, a page that does
not exist, a static file, a redirect and refused POSTs: a strict Content-Security-Policy, nosniff, a
Referrer-Policy, framing refused; HSTS only when the site is configured for HTTPS. Pages carry no inline
script, style or event handler, which the policy (no 'unsafe-inline') would block anyway.
"""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

import main
from tests.helpers import csrf_from
from tests.site import PAGES, seed_world, session_cookie

REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def header_problems(response: httpx.Response, https: bool) -> list[str]:
    problems = []
    csp = response.headers.get("content-security-policy", "")
    directives = policy(csp)
    if not csp:
        return ["no Content-Security-Policy"]
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp or "'unsafe-hashes'" in csp:
        problems.append(f"CSP allows inline code: {csp}")
    if directives.get("script-src") != ["'self'"]:
        problems.append(f"script-src is {directives.get('script-src')}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {directives.get('frame-ancestors')}")
    if directives.get("object-src") != ["'none'"] or "default-src" not in directives:
        problems.append(f"no default-src or object-src 'none': {csp}")
    if response.headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("referrer-policy") not in REFERRER_POLICIES:
        problems.append(f"Referrer-Policy is {response.headers.get('referrer-policy')!r}")
    if response.headers.get("x-frame-options") != "DENY":
        problems.append("no X-Frame-Options: DENY")
    hsts = response.headers.get("strict-transport-security")
    if https and not (hsts and hsts.startswith("max-age=") and int(hsts.split(";")[0].split("=")[1]) >= 15552000):
        problems.append(f"HTTPS site without a long HSTS: {hsts!r}")
    if not https and hsts is not None:
        problems.append("HSTS sent by a site not configured for HTTPS")
    return problems


class InlineCode(HTMLParser):
    """Finds what a CSP without 'unsafe-inline' would block: inline scripts and styles, handlers."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.in_script = True
        if tag == "style":
            self.problems.append("a <style> element")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"a style= attribute on <{tag}>")
            elif name.startswith("on"):
                self.problems.append(f"an {name}= handler on <{tag}>")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"a javascript: URL on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append(f"an inline <script> body: {data.strip()[:60]!r}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.mark.parametrize("https", [False, True], ids=["http", "https_only"])
async def test_every_response_has_the_security_headers_and_no_inline_code(app, settings, https):
    target = main.create_app(settings.with_changes(https_only=True)) if https else app
    base_url = "https://testserver" if https else "http://testserver"
    world = await seed_world(settings)
    sessions = {role: await session_cookie(app, role) for role in {page.role for page in PAGES}}
    failures = []
    checked = set()

    def check(name: str, response: httpx.Response, html: bool) -> None:
        problems = header_problems(response, https)
        if html:
            problems += inline_code(response.text)
        failures.extend(f"{name} ({response.status_code}): {problem}" for problem in problems)
        checked.add(name)

    try:
        for page in PAGES:
            for language in ("vi", "en"):
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=target), base_url=base_url, cookies=sessions[page.role],
                    headers={"Accept-Language": language},
                ) as client:
                    response = await client.get(page.url(world))
                assert response.status_code == page.status, page.name
                assert response.headers["content-type"].startswith("text/html"), page.name
                check(page.name, response, html=True)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url=base_url) as client:
            health = await client.get("/healthz")
            assert health.status_code == 200 and health.headers["content-type"] == "application/json"
            check("/healthz", health, html=False)
            missing = await client.get("/khong-co-trang-nay")
            assert missing.status_code == 404
            check("404 page", missing, html=True)
            css = await client.get("/static/consult.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
            check("static file", css, html=False)
            missing_file = await client.get("/static/no-such-file.js")
            assert missing_file.status_code == 404
            check("missing static file", missing_file, html=False)
            redirect = await client.get("/admin")
            assert redirect.status_code == 303
            check("redirect to sign in", redirect, html=False)
            not_allowed = await client.delete("/")
            assert not_allowed.status_code == 405
            check("405 page", not_allowed, html=True)

            token = csrf_from((await client.get("/account/signin")).text)
            forged = await client.post("/account/signin", data={"email": "a@example.vn", "password": "x"})
            assert forged.status_code == 403
            check("refused POST (403)", forged, html=True)
            wrong_type = await client.post("/account/signin", content=b"{}", headers={"Content-Type": "application/json"})
            assert wrong_type.status_code == 415
            check("refused POST (415)", wrong_type, html=True)
            too_large = await client.post("/account/signin", data={"email": "x" * (settings.max_body_bytes + 1), "csrf_token": token})
            assert too_large.status_code == 413
            check("refused POST (413)", too_large, html=True)
            invalid = await client.post("/account/signin", data={"email": "", "password": "", "csrf_token": token})
            assert invalid.status_code == 400
            check("form with errors (400)", invalid, html=True)
    finally:
        if https:
            await target.state.rate_limiter.close()

    print(f"security headers ({'https_only' if https else 'http'}): {len(PAGES)} registry pages x 2 languages + {len(checked) - len(PAGES)} other responses")
    assert not failures, "\n".join(failures)
