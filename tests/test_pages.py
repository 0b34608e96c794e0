"""Pages, errors and protections that every request goes through."""

import json

from consult import demo
from tests.helpers import csrf_from, post_form, text_of, title_of


async def test_home_page_lists_open_consultations_in_both_languages(client, settings):
    await demo.load(settings)
    page = await client.get("/")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    text = text_of(page.text)
    assert "Dự thảo Luật Tiếp cận thông tin (sửa đổi)" in text
    assert "Low-emission zone in the Hoan Kiem district" in text
    assert "Quy hoạch điểm đỗ xe công cộng nội đô" not in text  # scheduled, not open yet
    assert "Bộ Tư pháp" in text
    english = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Ministry of Justice" in text_of(english.text)
    assert "Open for comment" in text_of(english.text)


async def test_layout_has_skip_link_language_switcher_and_footer(client):
    page = await client.get("/")
    assert '<a class="skip-link" href="#main">' in page.text
    assert '<main id="main"' in page.text
    assert 'href="/accessibility"' in page.text and 'href="/privacy"' in page.text
    assert 'action="/language"' in page.text and 'value="en" lang="en"' in page.text
    for path in ("/accessibility", "/privacy"):
        response = await client.get(path)
        assert response.status_code == 200 and "<h1>" in response.text


async def test_security_headers(client):
    response = await client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_not_found_in_both_languages(client):
    vi = await client.get("/khong-co-trang-nay")
    assert vi.status_code == 404
    assert "Không tìm thấy trang" in title_of(vi.text)
    en = await client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert en.status_code == 404
    assert "Page not found" in title_of(en.text)
    assert "Traceback" not in vi.text + en.text


async def test_method_not_allowed_is_a_page(client):
    response = await client.delete("/")
    assert response.status_code == 405
    assert "<h1>" in response.text


async def test_post_without_csrf_token_is_refused(client):
    await client.get("/account/signup")
    response = await client.post("/account/signup", data={"email": "x@example.vn", "display_name": "X", "password": "whatever words here", "consent": "yes"})
    assert response.status_code == 403
    assert "biểu mẫu" in text_of(response.text).lower()
    forged = await client.post("/account/signin", data={"email": "x@example.vn", "password": "p", "csrf_token": "forged"})
    assert forged.status_code == 403


async def test_wrong_content_type_and_oversized_body(client, settings):
    page = await client.get("/account/signin")
    token = csrf_from(page.text)
    as_json = await client.post("/account/signin", content=json.dumps({"csrf_token": token}), headers={"Content-Type": "application/json"})
    assert as_json.status_code == 415
    assert "<h1>" in as_json.text
    huge = "x" * (settings.max_body_bytes + 10)
    too_big = await client.post("/account/signin", data={"email": huge, "csrf_token": token})
    assert too_big.status_code == 413
    assert "Traceback" not in too_big.text


async def test_language_switcher_sets_a_cookie_and_returns_to_the_page(client):
    response = await post_form(client, "/language", {"language": "en", "next": "/privacy"}, page="/privacy")
    assert response.status_code == 303
    assert response.headers["location"] == "/privacy"
    page = await client.get("/privacy")
    assert '<html lang="en">' in page.text and "Privacy notice" in title_of(page.text)
    back = await post_form(client, "/language", {"language": "vi", "next": "https://evil.example/"}, page="/privacy")
    assert back.headers["location"] == "/"  # never a redirect to another site
    assert '<html lang="vi">' in (await client.get("/")).text


async def test_healthz_reports_database_and_queue(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["queue"]["ok"] is True
    assert body["queue"]["backend"] in ("in-process", "arq")


async def test_cookies_are_secure_when_https_only(app, settings):
    import httpx

    import main

    secure_app = main.create_app(settings.with_changes(https_only=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=secure_app), base_url="https://testserver") as secure:
        response = await secure.get("/account/signin")
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_post_from_another_origin_is_refused_even_with_a_token(client):
    page = await client.get("/account/signin")
    token = csrf_from(page.text)
    foreign = await client.post(
        "/account/signin", data={"email": "x@example.vn", "password": "p", "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    same = await client.post(
        "/account/signin", data={"email": "x@example.vn", "password": "wrong password", "csrf_token": token}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 400
