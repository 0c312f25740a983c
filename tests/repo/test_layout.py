"""The production files hold production only; the test and benchmark rigs live in their own rooms."""

import json
import re
import subprocess

from paths import ROOT

PRODUCTION_SERVICES = {"db", "db-roles", "migrate", "web", "scheduler", "backup", "nginx", "acme",
                       "prometheus", "nginx-exporter", "postgres-exporter"}  # fmt: skip


def compose_config(*files: str) -> dict:
    args = [arg for name in files for arg in ("-f", name)]
    result = subprocess.run(
        ["docker", "compose", "--env-file", ".env.example", *args, "--profile", "test", "--profile", "bench", "--profile", "acme", "--profile", "monitoring",
         "config", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_the_production_compose_file_lists_production_services_only() -> None:
    assert set(compose_config("docker-compose.yml")["services"]) == PRODUCTION_SERVICES


def test_the_rigs_add_their_services_behind_profiles() -> None:
    services = compose_config("docker-compose.yml", "tests/compose.yml", "bench/compose.yml")["services"]

    rigs = {name: service.get("profiles") for name, service in services.items() if name not in PRODUCTION_SERVICES}

    assert rigs == {"tests": ["test"], "tlsscan": ["test"], "mail": ["test"], "bench": ["bench"], "bench-published": ["bench"], "bench-app": ["bench"],
                    "bench-nginx": ["bench"]}  # fmt: skip


def test_the_production_dockerfile_builds_only_what_ships() -> None:
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE | re.IGNORECASE)

    assert stages == ["builder", "runtime", "nginx", "acme-builder", "acme"]


def test_nothing_bench_or_test_only_ships_in_app_nginx_or_the_env_example() -> None:
    shipped = [*(ROOT / "app").rglob("*.py"), *(ROOT / "nginx").rglob("*"), ROOT / ".env.example"]

    mentions = [str(path.relative_to(ROOT)) for path in shipped if path.is_file() and "BENCH_" in path.read_text()]

    assert not mentions
    assert not (ROOT / "app" / "config" / "hello_wsgi.py").exists()
    assert not list((ROOT / "nginx").rglob("naive*"))
