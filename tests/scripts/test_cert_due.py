"""scripts/cert_due.py: make up renews the local certificate before it expires, and replaces one
valid for longer than browsers accept (outside review, item 13: `make certs` issued 825 days)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paths import ROOT

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl on the host")


def certificate(tmp_path: Path, days: int) -> Path:
    cert = tmp_path / "local.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", str(days), "-subj", "/CN=localhost", "-keyout", str(tmp_path / "local.key"), "-out", str(cert)],
        capture_output=True, check=True,
    )  # fmt: skip
    return cert


def due(cert: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/cert_due.py"), str(cert)], capture_output=True, text=True, check=False
    )


def test_a_fresh_one_year_certificate_is_kept(tmp_path: Path) -> None:
    result = due(certificate(tmp_path, 365))

    assert result.returncode == 1 and result.stdout == ""


@pytest.mark.parametrize(("days", "reason"), [(20, "expires in 19 days"), (825, "valid for 825 days")])
def test_a_certificate_near_its_end_or_too_long_lived_is_due(tmp_path: Path, days: int, reason: str) -> None:
    result = due(certificate(tmp_path, days))

    assert result.returncode == 0
    assert reason in result.stdout


@pytest.mark.parametrize("content", [None, "not a certificate"])
def test_a_missing_or_unreadable_certificate_is_due(tmp_path: Path, content: str | None) -> None:
    cert = tmp_path / "local.crt"
    if content is not None:
        cert.write_text(content)

    assert due(cert).returncode == 0
