import pytest

from config.healthcheck import allowed_host


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
