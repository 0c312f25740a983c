"""EMAIL_URL and the EMAIL_* variables: what each means, and a clear error for a bad one."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.email_url import LOG, SMTP, email_settings

NONE = {"host": "", "port": 0, "user": "", "password": "", "use_tls": False, "use_ssl": False}


def parse(url: str = "", required: bool = True, **kwargs: object) -> dict[str, object]:
    return email_settings(url=url, required=required, **(NONE | kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp+tls://me%40x.com:p%40ss@smtp.example.com", ("smtp.example.com", 587, "me@x.com", "p@ss", True, False)),
        ("smtps://u:p@smtp.example.com:2465", ("smtp.example.com", 2465, "u", "p", False, True)),
        ("smtp://relay:25", ("relay", 25, "", "", False, False)),
        ("smtp://mail:1025", ("mail", 1025, "", "", False, False)),
    ],
)
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    settings = parse(url)

    assert settings["EMAIL_BACKEND"] == SMTP
    assert (
        tuple(
            settings[k]
            for k in (
                "EMAIL_HOST",
                "EMAIL_PORT",
                "EMAIL_HOST_USER",
                "EMAIL_HOST_PASSWORD",
                "EMAIL_USE_TLS",
                "EMAIL_USE_SSL",
            )
        )
        == expected
    )


def test_the_password_may_live_apart_from_the_url() -> None:
    assert parse("smtp+tls://apikey@smtp.example.com", password="from-a-file")["EMAIL_HOST_PASSWORD"] == "from-a-file"


def test_console_writes_to_the_log() -> None:
    assert parse("console:")["EMAIL_BACKEND"] == LOG


def test_djangos_own_variables_without_a_url() -> None:
    settings = parse(host="smtp.example.com", use_tls=True, user="u", password="p")

    assert (settings["EMAIL_HOST"], settings["EMAIL_PORT"], settings["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        587,
        True,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://smtp.example.com", "unknown scheme"),
        ("smtp://", "names no host"),
        ("smtp://smtp.example.com:99999", "not a valid URL"),
        ("smtp://smtp.example.com/path", "nothing may follow"),
    ],
)
def test_a_bad_url_stops_start_up_with_the_reason(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        parse(url)


def test_production_without_a_mail_server_stops_start_up() -> None:
    with pytest.raises(ImproperlyConfigured, match="No mail server is configured"):
        parse()


def test_without_a_mail_server_and_not_required_mail_goes_to_the_log() -> None:
    assert parse(required=False)["EMAIL_BACKEND"] == LOG


def test_tls_and_ssl_together_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="not both"):
        parse(host="smtp.example.com", use_tls=True, use_ssl=True)
