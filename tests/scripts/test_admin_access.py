"""nginx/entrypoint.d/41-admin-access.sh: ADMIN_ALLOWED_NETWORKS becomes Nginx's allow/deny rules."""

import os
import subprocess
from pathlib import Path

import pytest

from paths import ROOT

SCRIPT = ROOT / "nginx/entrypoint.d/41-admin-access.sh"


def render(tmp_path: Path, networks: str | None) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path / "admin_access.inc"
    env = {"PATH": os.environ["PATH"], "ADMIN_ACCESS_FILE": str(out)}
    if networks is not None:
        env["ADMIN_ALLOWED_NETWORKS"] = networks
    result = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, check=False)
    return result, out.read_text() if out.exists() else ""


@pytest.mark.parametrize("networks", [None, "", " , "])
def test_unset_or_empty_leaves_the_admin_open(tmp_path: Path, networks: str | None) -> None:
    result, rules = render(tmp_path, networks)

    assert result.returncode == 0
    assert rules == ""


def test_listed_networks_are_allowed_and_every_other_address_denied(tmp_path: Path) -> None:
    result, rules = render(tmp_path, "10.0.0.0/8, 203.0.113.7,2001:db8::/32")

    assert result.returncode == 0
    assert rules == "allow 10.0.0.0/8;\nallow 203.0.113.7;\nallow 2001:db8::/32;\ndeny all;\n"


@pytest.mark.parametrize("bad", ["all", "10.0.0.0/8;deny", "example.com", "1.2.3.4 }"])
def test_an_entry_that_is_not_an_address_stops_the_start(tmp_path: Path, bad: str) -> None:
    result, _ = render(tmp_path, f"10.0.0.0/8,{bad}")

    assert result.returncode != 0
    assert "ADMIN_ALLOWED_NETWORKS" in result.stderr and "is not an address or a CIDR range" in result.stderr
