"""swarm/stack.yml stays in step with docker-compose.yml: the same images, commands, healthchecks,
hardening, mounts and networks for every service they share, and every difference is one this
file names (what Swarm cannot do, and what the stack does instead: docs/operations.md)."""

import re
from typing import Any

import pytest
import yaml

from paths import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
STACK = yaml.safe_load((ROOT / "swarm" / "stack.yml").read_text())["services"]

# Compose services the stack does not run, and why.
NOT_IN_STACK = {
    "backup": "the scheduled backups write to a host folder; on Swarm, run make backup's job by hand (docs)",
    "restore": "a tool, never started by up",
    "acme": "Swarm deployments terminate TLS with the certificate given as a secret (docs)",
    "prometheus": "the monitoring profile is Compose-only",
    "nginx-exporter": "the monitoring profile is Compose-only",
    "postgres-exporter": "the monitoring profile is Compose-only",
}
# Per service: environment variables of Compose's that the stack leaves out on purpose.
ENV_NOT_IN_STACK = {
    # The monitoring role belongs to the monitoring profile.
    "db-roles": {"DATABASE_MONITOR_USER", "DATABASE_MONITOR_PASSWORD", "DATABASE_MONITOR_PASSWORD_FILE"},
    # ACME is Compose-only (above).
    "nginx": {"ACME_DOMAINS", "TLS_WATCH_INTERVAL"},
}
SHARED = sorted(STACK)


def test_the_stack_runs_every_compose_service_but_the_ones_named_here() -> None:
    assert set(COMPOSE) - set(STACK) == set(NOT_IN_STACK)
    assert set(STACK) <= set(COMPOSE)


@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize(
    "key", ["command", "entrypoint", "healthcheck", "read_only", "cap_drop", "stop_grace_period", "sysctls"]
)
def test_shared_services_run_alike(name: str, key: str) -> None:
    assert STACK[name].get(key) == COMPOSE[name].get(key), (name, key)


@pytest.mark.parametrize("name", SHARED)
def test_shared_services_have_the_same_capabilities_and_image(name: str) -> None:
    assert set(STACK[name].get("cap_add", [])) == set(COMPOSE[name].get("cap_add", []))
    if "${STACK_" not in STACK[name]["image"]:  # a per-build tag of the image Compose builds
        assert STACK[name]["image"] == COMPOSE[name]["image"]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """target -> kind (volume:NAME, tmpfs, file) of every mount, in either file's syntax."""
    found: dict[str, str] = dict.fromkeys(service.get("tmpfs", []), "tmpfs")
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found[volume["target"]] = "tmpfs" if volume["type"] == "tmpfs" else f"volume:{volume['source']}"
            continue
        source, target = re.match(r"(\$\{[^}]*\}|[^:]+):([^:]+)", volume).groups()  # type: ignore[union-attr]
        found[target] = "file" if source.startswith(("./", "$")) else f"volume:{source}"
    for item in [*service.get("configs", []), *service.get("secrets", [])]:
        if isinstance(item, dict) and item.get("target", "").startswith("/"):
            found[item["target"]] = "file"
    return found


# Mounts of Compose's the stack leaves out: ACME's volumes and the backup status (Compose-only).
MOUNTS_NOT_IN_STACK = {"nginx": {"/srv/acme", "/etc/nginx/acme", "/srv/status/backup"}}


@pytest.mark.parametrize("name", SHARED)
def test_shared_services_mount_the_same_things_in_the_same_places(name: str) -> None:
    expected = {k: v for k, v in mounts(COMPOSE[name]).items() if k not in MOUNTS_NOT_IN_STACK.get(name, set())}
    assert mounts(STACK[name]) == expected


@pytest.mark.parametrize("name", SHARED)
def test_shared_services_are_on_the_same_networks_but_monitoring(name: str) -> None:
    compose = set(COMPOSE[name].get("networks", [])) - {"monitoring"}
    assert set(STACK[name].get("networks", [])) == compose


@pytest.mark.parametrize("name", ["db", "db-roles", "nginx"])
def test_shared_services_get_every_variable_a_secret_as_a_file(name: str) -> None:
    stack_env = STACK[name].get("environment", {})
    for variable, value in COMPOSE[name].get("environment", {}).items():
        if variable in ENV_NOT_IN_STACK.get(name, set()):
            continue
        secret = variable.endswith("PASSWORD") or variable.endswith("_FILE")
        if secret:
            base = variable.removesuffix("_FILE")
            assert stack_env.get(f"{base}_FILE", "").startswith("/run/secrets/"), (name, variable)
            assert base not in stack_env, (name, base)
        elif value is None:  # passed through when set: the stack's is interpolated from the env file
            assert stack_env.get(variable) in (f"${{{variable}:-}}", f"${{{variable}}}"), (name, variable)
        else:
            assert stack_env.get(variable) == value, (name, variable)


def test_the_app_services_take_their_settings_from_the_env_file_swarm_up_writes() -> None:
    for name in ("migrate", "web", "scheduler"):
        assert STACK[name]["env_file"] == ["${STACK_APP_ENV_FILE:?}"]
        assert not any(
            k in STACK[name].get("environment", {}) for k in ("SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_PASSWORD")
        )


def test_web_rolls_start_first_rolls_back_and_is_found_by_dns() -> None:
    deploy = STACK["web"]["deploy"]

    assert deploy["update_config"]["order"] == "start-first"
    assert deploy["update_config"]["failure_action"] == "rollback"
    assert deploy["endpoint_mode"] == "dnsrr"
    assert STACK["migrate"]["deploy"]["mode"] == "replicated-job"
    assert STACK["db"]["deploy"]["placement"]["constraints"] == ["node.labels.djstack.db == true"]
