"""A small OpenID Connect provider for the tests, served over HTTP on loopback: discovery, JWKS, authorization
(the code flow, PKCE S256 required), token (client secret, single-use codes), userinfo and end session. ID
tokens are signed RS256 with joserfc, the JOSE library authlib itself uses.

Tests say who signs in next (``person``) and how the next ID token is spoiled (``spoil``): signed by another key,
for another nonce, for another client, or expired. The provider checks what a real one checks, so the app's
mistakes (no PKCE, a wrong redirect, a code sent twice) fail here as they would in production."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "consult-tests"
CLIENT_SECRET = "a client secret only the tests know"

RESIDENT = {
    "sub": "079123456789",
    "name": "Nguyễn Thị Lan",
    "email": "lan.nguyen@example.vn",
    "email_verified": True,
    "birthdate": "1988-04-12",
    "address": {"region": "Thành phố Huế", "country": "VN"},
}


class TestProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        # Same key id, another key: a token that claims to come from the provider but was not signed by it.
        self.forger = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        self.person: dict[str, Any] = dict(RESIDENT)
        self.spoil: str | None = None  # "signature", "nonce", "audience", "expired": the next ID token only
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.ended: list[dict[str, str]] = []  # the end-session requests received
        self.token_requests = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.issuer = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- serving -----------------------------------------------------------------------------------

    def start(self) -> "TestProvider":
        # The socket listens before the thread serves it: a request made at once waits in the backlog, no polling.
        self._socket.listen(64)
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def reset(self) -> None:
        self.person = dict(RESIDENT)
        self.spoil = None
        self.ended.clear()

    def settings_value(self) -> list[dict[str, Any]]:
        """The app's CONSULT_OIDC_PROVIDERS: this provider, and one that cannot be reached (nothing listens on its port)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
            closed.bind(("127.0.0.1", 0))
            offline = f"http://127.0.0.1:{closed.getsockname()[1]}"
        return [{"name": "test", "issuer": self.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                 "label_vi": "Định danh thử nghiệm", "label_en": "Test identity", "verifies_identity": True},
                {"name": "offline", "issuer": offline, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                 "label_vi": "Định danh ngoại tuyến", "label_en": "Offline identity"}]

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
            Route("/userinfo", self.userinfo),
            Route("/logout", self.end_session),
        ])

    # --- endpoints ---------------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email", "address"],
            "claims_supported": ["sub", "name", "email", "email_verified", "birthdate", "address"],
        })

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE S256 is required"}, status_code=400)
        if not q.get("redirect_uri", "").startswith("http://testserver/"):
            return JSONResponse({"error": "invalid_request", "error_description": "unregistered redirect_uri"}, status_code=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"redirect_uri": q["redirect_uri"], "nonce": q.get("nonce"), "challenge": q["code_challenge"],
                            "person": dict(self.person), "used": False}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.get(str(form.get("code", "")))
        if form.get("grant_type") != "authorization_code" or grant is None or grant["used"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "unknown or used code"}, status_code=400)
        grant["used"] = True  # single use: a replayed code is refused
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE or redirect_uri mismatch"}, status_code=400)
        now = int(time.time())
        person = grant["person"]
        claims = {**person, "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "auth_time": now, "nonce": grant["nonce"]}
        key, spoil, self.spoil = self.key, self.spoil, None
        if spoil == "signature":
            key = self.forger
        elif spoil == "nonce":
            claims["nonce"] = "not-the-nonce-the-app-sent"
        elif spoil == "audience":
            claims["aud"] = "another-client"
        elif spoil == "expired":
            claims.update(iat=now - 7200, exp=now - 3600, auth_time=now - 7200)
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = person
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token},
                            headers={"Cache-Control": "no-store"})

    async def userinfo(self, request: Request) -> Response:
        person = self.access_tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if person is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(person)

    async def end_session(self, request: Request) -> Response:
        self.ended.append(dict(request.query_params))
        back = request.query_params.get("post_logout_redirect_uri")
        if back:
            state = request.query_params.get("state")
            return RedirectResponse(f"{back}?{urlencode({'state': state})}" if state else back, status_code=302)
        return Response("Signed out", media_type="text/plain")
