"""Settings come from the environment and fail fast, with a clear message, when they are wrong."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

VALID_ENV = {
    "SECRET_KEY": "s" * 50,
    "JWT_SIGNING_KEY": "j" * 40,
    "DATABASE_URL": "postgres://app:pw@db:5432/app",
}


def import_settings(
    code: str = "import config.settings as s; print(s.DEBUG)", **overrides: str | None
) -> subprocess.CompletedProcess[str]:
    """Run `code` (importing config.settings) in a fresh interpreter with VALID_ENV plus overrides (None removes)."""
    inherited = {k: v for k, v in os.environ.items() if not k.endswith("_FILE") and k != "DEBUG"}
    env = {k: v for k, v in inherited.items() if k not in VALID_ENV} | VALID_ENV
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_valid_environment_imports_with_debug_off_by_default() -> None:
    result = import_settings()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_missing_secret_key_stops_start_up_with_a_clear_message() -> None:
    result = import_settings(SECRET_KEY=None)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_missing_database_url_stops_start_up_with_a_clear_message() -> None:
    result = import_settings(DATABASE_URL="")

    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


def test_a_non_postgres_database_is_refused() -> None:
    result = import_settings(DATABASE_URL="sqlite:///db.sqlite3")

    assert "DATABASE_URL must point at PostgreSQL" in result.stderr


@pytest.mark.parametrize(
    ("key", "message"),
    [("short", "at least 32 bytes"), ("s" * 50, "must differ from SECRET_KEY")],
)
def test_a_weak_jwt_signing_key_is_refused(key: str, message: str) -> None:
    result = import_settings(JWT_SIGNING_KEY=key)

    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"JWT_USER_CACHE_SECONDS": "-1"}, "between 0 and 60 seconds"),
        ({"JWT_USER_CACHE_SECONDS": "61"}, "between 0 and 60 seconds"),
        ({"JWT_USER_CACHE_SECONDS": "five"}, "is not a whole number"),
        ({"JWT_USER_CACHE_SECONDS": "30", "JWT_ACCESS_TOKEN_LIFETIME": "30"}, "shorter than JWT_ACCESS_TOKEN_LIFETIME"),
    ],
)
def test_a_user_cache_beyond_its_bounds_is_refused(overrides: dict[str, str], message: str) -> None:
    result = import_settings(**overrides)

    assert result.returncode != 0
    assert message in result.stderr


def test_a_session_shorter_than_its_refresh_token_is_refused() -> None:
    result = import_settings(JWT_SESSION_LIFETIME="3600", JWT_REFRESH_TOKEN_LIFETIME="86400")

    assert result.returncode != 0
    assert "JWT_SESSION_LIFETIME must be at least JWT_REFRESH_TOKEN_LIFETIME" in result.stderr


def test_the_user_cache_is_off_by_default_and_takes_a_value_in_bounds() -> None:
    code = "import config.settings as s; print(s.JWT_USER_CACHE_SECONDS)"

    assert import_settings(code).stdout.strip() == "0"
    assert import_settings(code, JWT_USER_CACHE_SECONDS="5").stdout.strip() == "5"


@pytest.mark.parametrize(("raw", "expected"), [("1", "True"), ("true", "True"), ("0", "False"), ("false", "False")])
def test_debug_is_parsed_strictly(raw: str, expected: str) -> None:
    assert import_settings(DEBUG=raw).stdout.strip() == expected


def test_an_unparseable_debug_value_stops_start_up() -> None:
    result = import_settings(DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", " Off "])
def test_env_bool_reads_every_off_spelling_as_false(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("FLAG", raw)

    assert env_bool("FLAG", default=True) is False


def test_env_bool_falls_back_to_the_default_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLAG", raising=False)

    assert env_bool("FLAG", default=True) is True


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_an_unset_or_empty_variable_means_the_default_for_every_helper(
    monkeypatch: pytest.MonkeyPatch, raw: str | None
) -> None:
    if raw is None:
        monkeypatch.delenv("KNOB", raising=False)
    else:
        monkeypatch.setenv("KNOB", raw)

    assert (env_bool("KNOB", default=True), env_int("KNOB", 7), env_list("KNOB", "a,b"), env_str("KNOB", "s")) == (
        True,
        7,
        ["a", "b"],
        "s",
    )


def test_an_empty_allowed_hosts_keeps_the_default_hosts() -> None:
    result = import_settings(
        "import config.settings as s; print(s.ALLOWED_HOSTS, s.REGISTRATION_ENABLED)",
        ALLOWED_HOSTS="",
        REGISTRATION_ENABLED="",
    )

    assert result.stdout.strip() == "['localhost', '127.0.0.1'] True", result.stderr


@pytest.mark.parametrize(
    ("url", "socket_check", "engine"),
    [
        ("postgres://app@db/app", None, "core.db.postgresql"),
        ("postgis://app@db/app", None, "core.db.postgis"),
        ("postgres://app@db/app", "0", "django.db.backends.postgresql"),
        ("postgis://app@db/app", "0", "django.contrib.gis.db.backends.postgis"),
    ],
)
def test_the_database_engine_follows_the_url_and_the_socket_check_setting(
    url: str, socket_check: str | None, engine: str
) -> None:
    result = import_settings(
        "import config.settings as s; print(s.DATABASES['default']['ENGINE'])",
        DATABASE_URL=url,
        DATABASE_SOCKET_CHECK=socket_check,
    )

    assert result.stdout.strip() == engine, result.stderr


def test_env_int_rejects_a_non_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBER", "ten")

    with pytest.raises(ImproperlyConfigured, match="NUMBER='ten' is not a whole number"):
        env_int("NUMBER", 1)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTS", " a.example.com, ,b.example.com ,")

    assert env_list("HOSTS") == ["a.example.com", "b.example.com"]


def test_database_connections_are_persistent_and_health_checked() -> None:
    database = settings.DATABASES["default"]

    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_database_options_in_the_url_override_the_keepalive_defaults() -> None:
    code = "import config.settings as s; o = s.DATABASES['default']['OPTIONS']; print(o['keepalives_idle'], o['keepalives'])"

    result = import_settings(code, DATABASE_URL="postgres://app:pw@db:5432/app?keepalives_idle=5")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "1"]


def test_a_secret_can_come_from_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("f" * 50 + "\n")

    result = import_settings(SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("both", "Set SECRET_KEY or SECRET_KEY_FILE, not both"),
        ("missing-file", "cannot be read"),
        ("empty-file", "is empty"),
    ],
)
def test_a_bad_secret_file_is_refused_with_a_clear_message(tmp_path, setup: str, message: str) -> None:  # type: ignore[no-untyped-def]
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("" if setup == "empty-file" else "f" * 50)
    overrides = {"SECRET_KEY_FILE": str(tmp_path / "nope") if setup == "missing-file" else str(secret_file)}
    if setup != "both":
        overrides["SECRET_KEY"] = None  # type: ignore[assignment]

    result = import_settings(**overrides)

    assert result.returncode != 0
    assert message in result.stderr


def test_the_database_password_can_live_apart_from_the_url() -> None:
    code = "import config.settings as s; print(s.DATABASES['default']['PASSWORD'])"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_PASSWORD")} | VALID_ENV
    env["DATABASE_PASSWORD"] = "from-its-own-variable"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.stdout.strip() == "from-its-own-variable"


def test_https_settings_trust_only_nginxs_forwarded_proto() -> None:
    assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS > 0


@pytest.mark.parametrize(("raw", "first"), [("argon2", "Argon2id"), ("PBKDF2", "PBKDF2PasswordHasher")])
def test_password_hasher_picks_the_hasher_for_new_passwords(raw: str, first: str) -> None:
    result = import_settings("import config.settings as s; print(*s.PASSWORD_HASHERS)", PASSWORD_HASHER=raw)

    assert result.returncode == 0, result.stderr
    hashers = result.stdout.split()
    assert first in hashers[0]
    assert len(hashers) == 3  # the other hashers still verify older hashes


def test_an_unknown_password_hasher_stops_start_up() -> None:
    result = import_settings(PASSWORD_HASHER="md5")

    assert result.returncode != 0
    assert "PASSWORD_HASHER must be one of argon2, pbkdf2, not 'md5'" in result.stderr


def test_production_without_a_mail_server_stops_with_the_reason() -> None:
    result = import_settings(EMAIL_URL=None, EMAIL_HOST=None, ACCOUNT_EMAILS_ENABLED=None)

    assert result.returncode != 0
    assert "No mail server is configured" in result.stderr and "EMAIL_URL" in result.stderr


@pytest.mark.parametrize("overrides", [{"ACCOUNT_EMAILS_ENABLED": "0"}, {"DEBUG": "1"}, {"EMAIL_URL": "console:"}])
def test_no_mail_server_is_needed_without_the_flows_in_debug_or_with_console(overrides: dict[str, str]) -> None:
    result = import_settings(**({"EMAIL_URL": None, "EMAIL_HOST": None} | overrides))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("PASSWORD_RESET_URL", "app.example.com/reset"), ("EMAIL_CHANGE_URL", "https://app.example.com/confirm"),
     ("PASSWORD_RESET_TIMEOUT", "5"), ("EMAIL_TIMEOUT", "0")],
)  # fmt: skip
def test_bad_account_email_settings_stop_start_up(name: str, value: str) -> None:
    result = import_settings(**{name: value})

    assert result.returncode != 0 and name in result.stderr
