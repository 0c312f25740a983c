"""The auth surface attacked through Nginx, as a client on the network would."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import smoke
from stack import Compose, login


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign(header: dict[str, Any], payload: dict[str, Any], key: bytes, digest: Any) -> str:
    head_and_body = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{head_and_body}.{b64(hmac.new(key, head_and_body.encode(), digest).digest())}"


def payload_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture(scope="module")
def signing_key(env_file: str) -> bytes:
    return re.search(r"^JWT_SIGNING_KEY=(.+)$", Path(env_file).read_text(), re.M).group(1).encode()


@pytest.fixture
def pair(base_url: str, e2e_user: tuple[str, str]) -> dict[str, str]:
    reply = login(base_url, *e2e_user)
    assert reply.status == 200
    return reply.json()


def me(base_url: str, token: str) -> smoke.Reply:
    return smoke.request(base_url, "GET", "/api/me/", headers=smoke.bearer(token))


def assert_refused(reply: smoke.Reply) -> None:
    assert reply.status == 401, reply.body
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert set(reply.json()) >= {"code", "message"}


def test_a_token_signed_like_ours_is_accepted(base_url: str, pair: dict[str, str], signing_key: bytes) -> None:
    """The control: the forging below works, so each refusal is the server's doing."""
    token = sign({"alg": "HS256", "typ": "JWT"}, payload_of(pair["access"]), signing_key, hashlib.sha256)

    assert me(base_url, token).status == 200


@pytest.mark.parametrize(("alg", "digest"), [("HS512", hashlib.sha512), ("HS384", hashlib.sha384)])
def test_the_right_key_with_another_algorithm_is_refused(
    base_url: str, pair: dict[str, str], signing_key: bytes, alg: str, digest: Any
) -> None:
    token = sign({"alg": alg, "typ": "JWT"}, payload_of(pair["access"]), signing_key, digest)

    assert_refused(me(base_url, token))


def test_alg_none_is_refused(base_url: str, pair: dict[str, str]) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{pair['access'].split('.')[1]}."

    assert_refused(me(base_url, unsigned))


def test_a_tampered_token_is_refused(base_url: str, pair: dict[str, str]) -> None:
    assert_refused(me(base_url, smoke.tamper(pair["access"])))


def test_a_refresh_token_is_refused_as_an_access_token(base_url: str, pair: dict[str, str]) -> None:
    assert_refused(me(base_url, pair["refresh"]))


def test_a_token_in_the_query_string_is_ignored(base_url: str, pair: dict[str, str]) -> None:
    assert_refused(smoke.request(base_url, "GET", f"/api/me/?token={pair['access']}"))


def test_twenty_parallel_refreshes_of_one_token_yield_exactly_one_pair(base_url: str, pair: dict[str, str]) -> None:
    start = threading.Barrier(20)
    statuses: list[int] = []
    time.sleep(4)  # a full burst allowance at Nginx's sign-in rate limit for the 20 at once

    def spend() -> None:
        start.wait()
        statuses.append(
            smoke.request(base_url, "POST", "/api/token/refresh/", json_body={"refresh": pair["refresh"]}).status
        )

    threads = [threading.Thread(target=spend) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    time.sleep(4)  # give the burst allowance back: the sign-ins in the tests that follow need it
    assert sorted(statuses) == [200] + [401] * 19


def test_token_responses_are_not_cacheable(base_url: str, e2e_user: tuple[str, str]) -> None:
    assert "no-store" in login(base_url, *e2e_user).headers["cache-control"]


def test_unknown_user_and_wrong_password_look_the_same(base_url: str, e2e_user: tuple[str, str]) -> None:
    unknown = login(base_url, f"nobody-{secrets.token_hex(4)}", "whatever-password")
    wrong = login(base_url, e2e_user[0], "whatever-password")

    assert (unknown.status, unknown.body) == (wrong.status, wrong.body) == (401, wrong.body)


def test_register_sign_in_and_own_a_note(base_url: str) -> None:
    username, password = f"new-{secrets.token_hex(4)}", "a long unusual passphrase"
    registered = smoke.request(
        base_url,
        "POST",
        "/api/auth/register/",
        json_body={"username": username, "email": f"{username}@example.com", "password": password},
    )
    access = login(base_url, username, password).json()["access"]

    created = smoke.request(base_url, "POST", "/api/notes/", json_body={"title": "hello"}, headers=smoke.bearer(access))
    listed = smoke.request(base_url, "GET", "/api/notes/", headers=smoke.bearer(access))

    assert (registered.status, created.status) == (201, 201)
    assert [n["title"] for n in listed.json()["results"]] == ["hello"]


def test_an_unknown_api_path_is_a_json_404(base_url: str) -> None:
    reply = smoke.request(base_url, "GET", f"/api/nothing-{secrets.token_hex(3)}/")

    assert reply.status == 404
    assert reply.json()["code"] == "not_found"


def test_the_api_docs_work_offline_with_assets_from_nginx(base_url: str, compose: Compose) -> None:
    page = smoke.request(base_url, "GET", "/api/docs/", headers={"Accept": "text/html"})
    assets = re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"', page.body.decode())
    probe = f"probe-{secrets.token_hex(6)}"  # a User-Agent Gunicorn would log

    replies = [smoke.request(base_url, "GET", asset, headers={"User-Agent": probe}) for asset in assets]

    assert page.status == 200 and assets
    assert b"<script>" not in page.body  # everything from files, as the CSP requires
    assert all(reply.status == 200 for reply in replies)
    assert probe not in compose("logs", "web").stdout
    assert smoke.request(base_url, "GET", "/api/schema/").status == 200


def test_an_expired_token_is_refused(base_url: str, pair: dict[str, str], signing_key: bytes) -> None:
    claims = payload_of(pair["access"]) | {"exp": int(time.time()) - 60}

    assert_refused(me(base_url, sign({"alg": "HS256", "typ": "JWT"}, claims, signing_key, hashlib.sha256)))
