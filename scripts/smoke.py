#!/usr/bin/env python3
"""Smoke-test a running stack from outside, through Nginx, with python3's standard library only.

    SMOKE_PASSWORD=... python3 scripts/smoke.py --base-url https://127.0.0.1:8443 \
        --cacert certs/local.crt --username smoke

Prints one line per check; stops at the first failure with what was expected and what came back.
The end-to-end tests import `run_checks` and the helpers below.
"""

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class CheckFailed(Exception):
    pass


# TLS verification for https:// URLs: the system's trust store, or the CA file given to use_ca().
_tls = ssl.create_default_context()


def use_ca(cafile: str) -> ssl.SSLContext:
    """Trust the certificate(s) in `cafile` (e.g. make certs' self-signed one) for every request."""
    global _tls
    _tls = ssl.create_default_context(cafile=cafile)
    return _tls


def tls_context() -> ssl.SSLContext:
    """The TLS context every request uses."""
    return _tls


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as they are (a 308 is a result to check, not a hop to take)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def request(
    base_url: str,
    method: str,
    path: str,
    *,
    json_body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    timeout: float = 15,
) -> Reply:
    """Send one request (a JSON body, or raw `data`); any HTTP status comes back as a Reply."""
    if json_body is not None:
        data = json.dumps(json_body).encode()
    req = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)  # noqa: S310  (http/https only)
    req.add_header("Accept", "application/json")
    if json_body is not None:
        req.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_tls), _NoRedirect)
        with opener.open(req, timeout=timeout) as resp:
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tamper(token: str) -> str:
    """Return the token with its payload changed (user_id + 1) and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = str(int(claims["user_id"]) + 1)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def expect(name: str, reply: Reply, status: int, check: Callable[[Any], bool] | None = None) -> Any:
    """Raise CheckFailed unless the reply has `status` (and its JSON passes `check`); return the JSON."""
    body = reply.body.decode(errors="replace")[:300]
    if reply.status != status:
        raise CheckFailed(f"{name}: expected HTTP {status}, got {reply.status}: {body}")
    data = reply.json() if reply.body else None
    if check is not None and not check(data):
        raise CheckFailed(f"{name}: HTTP {status} as expected, but the body is wrong: {body}")
    return data


def run_checks(base_url: str, username: str, password: str, say: Callable[[str], None] = print) -> None:
    """Run every smoke check in order; raise CheckFailed at the first one that fails."""

    def get(path: str, **kw: Any) -> Reply:
        return request(base_url, "GET", path, **kw)

    def post(path: str, body: dict[str, Any], **kw: Any) -> Reply:
        return request(base_url, "POST", path, json_body=body, **kw)

    def ok(name: str, reply: Reply, status: int, check: Callable[[Any], bool] | None = None) -> Any:
        data = expect(name, reply, status, check)
        say(f"ok   {name} -> {status}")
        return data

    ok("health", get("/api/health/"), 200, lambda d: d["status"] == "ok")
    pair = ok(
        "token: obtain a pair",
        post("/api/token/", {"username": username, "password": password}),
        200,
        lambda d: bool(d.get("access")) and bool(d.get("refresh")),
    )
    access, refresh = pair["access"], pair["refresh"]
    ok("me: with the access token", get("/api/me/", headers=bearer(access)), 200, lambda d: d["username"] == username)
    ok("me: without a token", get("/api/me/"), 401)
    ok("me: with a garbage token", get("/api/me/", headers=bearer("not-a-jwt")), 401)
    ok("me: with a tampered token", get("/api/me/", headers=bearer(tamper(access))), 401)
    renewed = ok(
        "token: refresh rotates the pair",
        post("/api/token/refresh/", {"refresh": refresh}),
        200,
        lambda d: bool(d.get("access")) and d.get("refresh") not in (None, refresh),
    )
    ok(
        "me: with the refreshed access token",
        get("/api/me/", headers=bearer(renewed["access"])),
        200,
        lambda d: d["username"] == username,
    )
    ok("token: logout", post("/api/token/blacklist/", {"refresh": renewed["refresh"]}), 200)
    ok("token: refresh after logout is refused", post("/api/token/refresh/", {"refresh": renewed["refresh"]}), 401)
    # A second session: reusing its spent refresh token ends it, the newer token with it.
    second = ok("token: a second session", post("/api/token/", {"username": username, "password": password}), 200)
    newer = ok("token: a second session refreshes", post("/api/token/refresh/", {"refresh": second["refresh"]}), 200)
    ok("token: a spent refresh token is refused", post("/api/token/refresh/", {"refresh": second["refresh"]}), 401)
    ok(
        "token: reuse ended that session",
        post("/api/token/refresh/", {"refresh": newer["refresh"]}),
        401,
    )
    ok("token: verify a valid token", post("/api/token/verify/", {"token": access}), 200)
    ok("token: verify a tampered token", post("/api/token/verify/", {"token": tamper(access)}), 401)
    ok("token: wrong password", post("/api/token/", {"username": username, "password": password + "x"}), 401)


def main() -> int:
    parser = argparse.ArgumentParser(description="Smoke-test the running stack through Nginx.")
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--username", required=True)
    parser.add_argument("--cacert", help="a CA or self-signed certificate to trust, e.g. certs/local.crt")
    args = parser.parse_args()
    if args.cacert:
        use_ca(args.cacert)
    password = os.environ.get("SMOKE_PASSWORD", "")
    if not password:
        print("error: set SMOKE_PASSWORD to the user's password.", file=sys.stderr)
        return 2
    try:
        run_checks(args.base_url, args.username, password)
    except CheckFailed as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"FAIL cannot reach {args.base_url}: {exc}. Is the stack up (`make up`)?", file=sys.stderr)
        return 1
    print("smoke: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
