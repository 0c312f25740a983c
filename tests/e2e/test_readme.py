"""The README's curl walk-through runs as written against a running stack."""

import re
import secrets
import shutil
import subprocess

import pytest

from stack import ROOT


def test_the_readme_auth_flow_runs_as_written(base_url: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed on this machine")
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- auth-flow:start -->\s*```sh\n(.*?)```\s*<!-- auth-flow:end -->", readme, re.S)
    assert block, "the README has no auth-flow block"
    name = f"ada{secrets.token_hex(3)}"
    script = block.group(1).replace("https://127.0.0.1:8443", base_url).replace('"ada', f'"{name}')

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    output = result.stdout.replace(" ", "")  # curl prints the JSON replies back to back
    assert output.count(f'"username":"{name}"') == 2  # registered, then /api/me/
    assert '"title":"firstnote"' in output  # the note was created
    assert output.endswith("{}401\n")  # logout, then the spent refresh token is refused
