"""`make smoke`'s checks, run as a test: every one must pass through Nginx."""

import smoke


def test_every_smoke_check_passes_through_nginx(base_url: str, e2e_user: tuple[str, str]) -> None:
    passed: list[str] = []

    smoke.run_checks(base_url, *e2e_user, say=passed.append)

    assert len(passed) == 17


def test_the_health_endpoint_is_json_through_nginx(base_url: str) -> None:
    reply = smoke.request(base_url, "GET", "/api/health/")

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    version = reply.headers["x-app-version"]  # the build that answered, as make built it
    assert version and version != "unknown"
    assert reply.json() == {"status": "ok", "database": "ok", "version": version}
