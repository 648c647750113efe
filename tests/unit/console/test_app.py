"""The console app in process, its owning services and the OIDC issuer replaced by httpx mock transports:
sign-in with the authorization code flow and PKCE, the bearer token forwarded to the services, the session
cookie's flags, CSRF, the Content-Security-Policy and the role checks."""

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from reciprocal.tokens import DevSigningKey
from services.console.app import create_app
from services.console.settings import ConsoleSettings

ISSUER = "https://login.example.test"
SECRET = "s" * 40


class FakePublisher:
    def __init__(self) -> None:
        self.events: list = []

    async def publish(self, event) -> None:
        self.events.append(event)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        pass


@pytest.fixture
def key(tmp_path, monkeypatch) -> DevSigningKey:
    key = DevSigningKey.create(tmp_path)
    for name, value in key.service_env().items():
        monkeypatch.setenv(name, value)
    return key


def services_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/programs":
            return httpx.Response(200, json={"programs": [{"program_id": "p1", "name": "Pilot", "enrolled": 3,
                                                           "active": 2}]})
        if path == "/programs/match-counts":
            return httpx.Response(200, json={"programs": [{"program_id": "p1", "name": "Pilot", "people_matched": 2,
                                                           "matches": {"accepted": 1, "proposed": 1}}]})
        if path.startswith("/matches/"):
            return httpx.Response(200, json={"match_id": "m1", "person_a": "ana", "person_b": "ben"})
        return httpx.Response(404, json={"detail": "not found"})

    return httpx.MockTransport(answer)


def settings(**extra) -> ConsoleSettings:
    return ConsoleSettings(console_session_secret=SECRET, console_profiles_url="http://profiles",
                           console_matcher_url="http://matcher", **extra)


def app_with(key, *, seen=None, publisher=None, oidc=None, **extra):
    from services.console.adapters.services import Services

    s = settings(**extra)
    services = Services(s.service_urls(), transport=services_transport(seen if seen is not None else []))
    return create_app(s, services=services, publisher=publisher or FakePublisher(), oidc_transport=oidc)


def test_settings_refuse_a_missing_secret_and_a_dev_sign_in_outside_the_embedded_mode():
    with pytest.raises(ValueError, match="SESSION_SECRET"):
        ConsoleSettings(console_session_secret="short")
    with pytest.raises(ValueError, match="EMBEDDED"):
        ConsoleSettings(console_session_secret=SECRET, console_dev_signin=True, console_dev_signing_key="k.pem")


def test_oidc_code_flow_with_pkce_forwards_the_access_token(key):
    issued: dict[str, str] = {}
    access_token = key.mint("acme", "admin", ttl=__import__("datetime").timedelta(minutes=5))

    def issuer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                                             "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks"})
        if request.url.path == "/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            digest = hashlib.sha256(form["code_verifier"].encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if form.get("code") != "the-code" or challenge != issued["challenge"]:
                return httpx.Response(400, json={"error": "invalid_grant"})
            return httpx.Response(200, json={"access_token": access_token, "token_type": "Bearer", "expires_in": 300})
        return httpx.Response(404)

    seen: list[httpx.Request] = []
    app = app_with(key, seen=seen, oidc=httpx.MockTransport(issuer),
                   console_oidc_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
                   console_oidc_client_id="console", console_oidc_client_secret="shh")
    with TestClient(app, base_url="https://console.test") as web:
        start = web.get("/signin/oidc", follow_redirects=False)
        assert start.status_code == 302
        query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        assert start.headers["location"].startswith(f"{ISSUER}/authorize?")
        assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
        assert query["redirect_uri"] == "https://console.test/signin/callback"
        issued["challenge"] = query["code_challenge"]
        done = web.get(f"/signin/callback?code=the-code&state={query['state']}", follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/programs"
        cookie = done.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
        page = web.get("/programs")
        assert page.status_code == 200 and "Pilot" in page.text
        assert seen and all(r.headers["authorization"] == f"Bearer {access_token}" for r in seen)
        assert web.get("/signin/callback?code=the-code&state=forged", follow_redirects=False).status_code == 401


def sign_in_dev(web: TestClient, org: str, role: str, person: str = "") -> httpx.Response:
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/signin").text).group(1)
    return web.post("/signin/dev", data={"csrf_token": csrf, "org": org, "role": role, "person": person},
                    follow_redirects=False)


def test_headers_csrf_and_roles(key, monkeypatch):
    publisher = FakePublisher()
    app = app_with(key, publisher=publisher, embedded=True, console_dev_signin=True,
                   console_dev_signing_key=str(key.path), console_cookie_secure=False)
    with TestClient(app) as web:
        signin = web.get("/signin")
        csp = signin.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert web.post("/signin/dev", data={"org": "acme", "role": "admin"}).status_code == 403  # no CSRF token
        assert sign_in_dev(web, "acme", "participant", "ana").headers["location"] == "/me"
        assert web.get("/programs").status_code == 403  # admin pages need the admin role
        assert web.get("/people/ben").status_code == 403  # another participant's page
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/signin").text).group(1)
        assert web.post("/people/ana/matches/m1/respond", data={"decision": "accept"}).status_code == 403
        assert web.post("/people/ben/matches/m1/respond",
                        data={"csrf_token": csrf, "decision": "accept"}).status_code == 403  # not for someone else
        answer = web.post("/people/ana/matches/m1/respond", data={"csrf_token": csrf, "decision": "accept"},
                          follow_redirects=False)
        assert answer.status_code == 303
        [event] = publisher.events
        assert (event.org_id, event.person_id, event.match_id, event.decision) == ("acme", "ana", "m1", "accept")


def test_the_dev_sign_in_is_off_unless_configured(key):
    with TestClient(app_with(key)) as web:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/signin").text)
        assert csrf is None  # no form is offered
        assert web.post("/signin/dev", data={"org": "acme", "role": "admin"}).status_code == 404
