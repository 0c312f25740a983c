import pytest

from config.healthcheck import allowed_host, health_path


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        ("api.example.com,localhost", "api.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_healthcheck_sends_a_host_django_accepts(
    monkeypatch: pytest.MonkeyPatch, allowed_hosts: str, expected: str
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)

    assert allowed_host() == expected


def test_the_healthcheck_is_liveness_unless_asked_for_readiness() -> None:
    assert health_path([]) == "/api/health/live/"
    assert health_path(["--ready"]) == "/api/health/"
