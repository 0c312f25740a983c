"""Bad configuration stops the stack with a message that says what to fix."""

from stack import Compose


def test_the_migrate_job_stops_on_a_missing_secret_key_with_one_line(compose: Compose) -> None:
    """The first job of `make up` fails, and `make up` shows its log: one line, no traceback."""
    result = compose("run", "--rm", "--no-deps", "-e", "SECRET_KEY=", "migrate", check=False)

    assert result.returncode != 0
    assert "Configuration error: SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_django_refuses_to_start_without_secret_key(compose: Compose) -> None:
    result = compose(
        "run", "--rm", "--no-deps", "-e", "SECRET_KEY=", "web", "python", "manage.py", "check", check=False
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_migrate_against_an_unreachable_database_names_it(compose: Compose) -> None:
    result = compose(
        "run", "--rm", "--no-deps", "-e", "DATABASE_URL=postgres://app:wrong@db:1/app", "migrate", check=False
    )

    assert result.returncode != 0
    assert "Cannot connect to the database 'app' at db:1" in result.stderr


def test_deploy_checks_report_no_errors_in_the_web_container(compose: Compose) -> None:
    result = compose("exec", "-T", "web", "python", "manage.py", "check", "--deploy", check=False)

    assert result.returncode == 0, result.stderr
    assert "ERRORS:" not in result.stderr and "WARNINGS:" not in result.stderr


def test_a_user_cache_longer_than_allowed_stops_web_as_compose_passes_it(compose: Compose) -> None:
    """JWT_USER_CACHE_SECONDS from the shell (or .env) reaches web through compose's x-app-env."""
    result = compose(
        "run", "--rm", "--no-deps", "web", "python", "manage.py", "check",
        check=False, env={"JWT_USER_CACHE_SECONDS": "61"},
    )  # fmt: skip

    assert result.returncode != 0
    assert "JWT_USER_CACHE_SECONDS must be between 0 and 60 seconds" in result.stderr


def test_an_acme_name_http01_cannot_prove_stops_web_with_the_reason(compose: Compose) -> None:
    """ACME_DOMAINS is refused where it is read first at start (migrate's settings), not by the CA."""
    result = compose(
        "run", "--rm", "--no-deps", "web", "python", "manage.py", "check",
        check=False, env={"ACME_DOMAINS": "api.example.com,*.example.com"},
    )  # fmt: skip

    assert result.returncode != 0
    assert "ACME_DOMAINS: '*.example.com': a wildcard needs the DNS-01 challenge" in result.stderr
    assert "Traceback" not in result.stderr


def test_acme_names_are_accepted_by_django_as_hosts(compose: Compose) -> None:
    result = compose(
        "run", "--rm", "--no-deps", "web", "python", "-c",
        "import django; django.setup(); from django.conf import settings; print(settings.ALLOWED_HOSTS)",
        check=False, env={"ACME_DOMAINS": "API.example.com, www.example.com."},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "'api.example.com', 'www.example.com'" in result.stdout
