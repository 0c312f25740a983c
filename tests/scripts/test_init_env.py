"""scripts/init_env.py writes a working .env once, with fresh secrets, and never overwrites it."""

import re
import stat
import subprocess
import sys
from pathlib import Path

from paths import ROOT

SECRETS = ("SECRET_KEY", "JWT_SIGNING_KEY", "POSTGRES_PASSWORD", "DATABASE_PASSWORD", "DATABASE_OWNER_PASSWORD",
           "DATABASE_MONITOR_PASSWORD")  # fmt: skip


def init_env(path: Path, *sets: str) -> subprocess.CompletedProcess[str]:
    args = [arg for name_value in sets for arg in ("--set", name_value)]
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "init_env.py"), *args, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )


def values(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", path.read_text(), re.M))


def test_new_env_file_gets_distinct_long_secrets_readable_by_its_owner_only(tmp_path: Path) -> None:
    env = tmp_path / ".env"

    init_env(env)

    generated = [values(env)[name] for name in SECRETS]
    assert all(len(value) >= 50 for value in generated)
    assert len(set(generated)) == len(SECRETS)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_two_env_files_never_share_a_secret(tmp_path: Path) -> None:
    init_env(tmp_path / "a.env")
    init_env(tmp_path / "b.env")

    a, b = values(tmp_path / "a.env"), values(tmp_path / "b.env")
    assert all(a[name] != b[name] for name in SECRETS)


def test_an_existing_env_file_is_never_overwritten(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    given = [name for name in SECRETS if name != "DATABASE_OWNER_PASSWORD"]
    complete = "".join(f"{name}=mine\n" for name in given) + "DATABASE_OWNER_PASSWORD_FILE=/run/secrets/x\n"
    env.write_text(complete)

    result = init_env(env)

    assert env.read_text() == complete  # a secret given as a file counts as given
    assert result.stdout == ""


def test_an_older_env_file_keeps_its_values_and_gets_the_secrets_it_lacks(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("SECRET_KEY=mine\nDATABASE_PASSWORD=\n")

    result = init_env(env)

    got = values(env)
    assert env.read_text().startswith("SECRET_KEY=mine\nDATABASE_PASSWORD=\n")  # kept, even the empty one
    assert {name for name in SECRETS if len(got.get(name, "")) >= 48} == {
        "JWT_SIGNING_KEY",
        "POSTGRES_PASSWORD",
        "DATABASE_OWNER_PASSWORD",
        "DATABASE_MONITOR_PASSWORD",
    }
    assert "JWT_SIGNING_KEY" in result.stdout and "DATABASE_OWNER_PASSWORD" in result.stdout


def test_overrides_replace_a_value_or_are_appended(tmp_path: Path) -> None:
    env = tmp_path / ".env"

    init_env(env, "HTTP_PORT=18080", "EXTRA_SETTING=yes")

    assert (values(env)["HTTP_PORT"], values(env)["EXTRA_SETTING"]) == ("18080", "yes")


def test_every_compose_variable_is_documented_in_env_example_and_vice_versa() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    # ${VAR} interpolations, and the variables passed through by name (`VAR:` with no value).
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose)) | set(
        re.findall(r"^\s+([A-Z][A-Z0-9_]*):\s*$", compose, re.M)
    )
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    # Read by Compose itself (which profiles to start), not interpolated in the file.
    documented.discard("COMPOSE_PROFILES")

    # The Swarm stack's own knobs (WEB_REPLICAS), beside what make swarm-up sets (STACK_*).
    stack = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "swarm" / "stack.yml").read_text()))
    stack = {name for name in stack if not name.startswith("STACK_")}

    assert used - documented == set(), "used in docker-compose.yml, missing from .env.example"
    assert stack - documented == set(), "used in swarm/stack.yml, missing from .env.example"
    assert documented - used - stack == set(), "documented in .env.example, used by neither compose nor stack file"
