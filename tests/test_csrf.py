"""Forged requests: every POST route of the app refuses a request without its session's CSRF token, or
sent from another site even with the token, and changes nothing. The session is an administrator's, so
permission is never what refuses the request; the same request with the token, from this site, then
goes through, so the token is what made the difference."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.helpers import text_of, title_of
from tests.site import session_cookie
from tests.test_authorization import (
    MATRIX,
    OK,
    Scene,
    app_routes,
    browser,
    changed_tables,
    csrf_token,
    database_snapshot,
    fixed,
    outcome_of,
    settle_jobs,
)

REFUSAL = "The form has expired or did not come from this site."
# A signed-in person who posts the sign-up form is only sent to their account (nothing is read or
# changed, see the last test), so that route is checked where it acts: in a visitor's session.
# Routes the administrator may not use themselves: moderation needs the moderator role.
SESSION_FOR = {
    "/account/signup": "anonymous",
    "/moderation/bulk": "moderator",
    "/moderation/comments/{comment_id:int}/decide": "moderator",
}
# Allowed only to a browser no role of the matrix is: one back from the identity provider, asked to agree (tests.site).
NEWCOMER_CONTROL = {"/account/identity/confirm": {"action": "cancel"}}


def post_routes(app) -> list[str]:
    return sorted(path for method, path in app_routes(app) if method == "POST")


def as_form(fields: dict[str, str], **headers: str) -> dict:
    """What a browser sends for a form: its fields, url-encoded, with that content type."""
    return {"content": urlencode(fields), "headers": {"Content-Type": "application/x-www-form-urlencoded", **headers}}


def as_multipart(fields: dict[str, str]) -> dict:
    """The same form sent as multipart/form-data (enctype="multipart/form-data", no file chosen)."""
    boundary = "----consult-test-boundary"
    parts = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items())
    body = (parts + f"--{boundary}--\r\n").encode()
    return {"content": body, "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


def forged_requests(form: dict[str, str], token: str, other_browsers_token: str) -> dict[str, dict]:
    return {
        "no token": as_form(form),
        "an empty token": as_form({**form, "csrf_token": ""}),
        "a wrong token": as_form({**form, "csrf_token": token[::-1]}),
        "another browser's valid token": as_form({**form, "csrf_token": other_browsers_token}),
        "a multipart form without token": as_multipart(form),
        "the valid token, from another site": as_form({**form, "csrf_token": token}, Origin="https://evil.example"),
        "the valid token, from a look-alike host": as_form({**form, "csrf_token": token}, Origin="http://testserver.evil.example"),
    }


async def test_every_post_route_refuses_forged_requests_and_changes_nothing(app, settings, run_jobs):
    scene = await Scene.build(app, settings)
    cookies = {"admin": await session_cookie(app, "admin"), "moderator": await session_cookie(app, "moderator"), "anonymous": {},
               "newcomer": await session_cookie(app, "newcomer")}
    routes = post_routes(app)
    assert len(routes) == len([key for key in MATRIX if key[0] == "POST"])
    failures = []
    genuine = []
    for route in routes:
        access = MATRIX[("POST", route)]
        if route in NEWCOMER_CONTROL:
            role, path, form = "newcomer", route, dict(NEWCOMER_CONTROL[route])
        else:
            role = SESSION_FOR.get(route, "admin")
            assert access.who[role] == OK, f"{route}: the control request must be allowed for {role}"
            path, form = await (access.request or fixed(route))(scene, role)
        async with browser(app, role, cookies[role]) as client:
            token = await csrf_token(client)
            async with browser(app, "citizen", {}) as other_browser:
                other_token = await csrf_token(other_browser)
            assert other_token != token
            await settle_jobs(run_jobs)
            before = await database_snapshot()
            for name, request in forged_requests(form, token, other_token).items():
                response = await client.post(path, **request)
                if response.status_code != 403 or REFUSAL not in text_of(response.text):
                    failures.append(f"POST {route} with {name}: {response.status_code} {response.headers.get('location', '')}")
                elif not title_of(response.text).startswith("You do not have permission"):
                    failures.append(f"POST {route} with {name}: not the error page")
            changed = changed_tables(before, await database_snapshot())
            if changed:
                failures.append(f"POST {route}: refused requests changed {changed}")
        genuine.append((access.order, route, role, path, form))
    assert not failures, "\n".join(failures)

    # The same requests, with the token and from this site, are accepted (sign-out and the password
    # change, which end the session, go last).
    for _, route, role, path, form in sorted(genuine):
        async with browser(app, role, cookies[role]) as client:
            token = await csrf_token(client)
            access = MATRIX[("POST", route)]
            if access.files:  # an upload form: multipart, with its file
                genuine_request = {"data": {**form, "csrf_token": token}, "files": access.files, "headers": {"Origin": "http://testserver"}}
            else:
                genuine_request = as_form({**form, "csrf_token": token}, Origin="http://testserver")
            response = await client.post(path, **genuine_request)
            assert outcome_of(response) == OK, f"POST {route} with its token: {response.status_code} {text_of(response.text)[:300]}"
            if MATRIX[("POST", route)].keeps_session:
                cookies[role] = dict(client.cookies)
    print(f"CSRF: {len(routes)} POST routes x {len(forged_requests({}, 'x', 'y'))} forged requests refused")


async def test_sign_up_form_posted_while_signed_in_reads_nothing_and_changes_nothing(app, settings, run_jobs):
    await Scene.build(app, settings)
    async with browser(app, "admin", await session_cookie(app, "admin")) as client:
        await settle_jobs(run_jobs)
        before = await database_snapshot()
        response = await client.post(
            "/account/signup",
            data={"email": "forged@example.vn", "display_name": "Giả mạo", "password": "seven quiet harbour lanterns", "consent": "yes"},
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 303 and response.headers["location"] == "/account"
        assert changed_tables(before, await database_snapshot()) == []
