"""A TLS scanner (testssl.sh) finds nothing rated high or critical in the TLS configuration."""

import json
from pathlib import Path

from stack import Compose

# Findings about the certificate itself (self-signed, no OCSP/CRL, no CAA record) describe the
# local certificate `make certs` makes, which production replaces; the configuration is the subject.
CERTIFICATE_FINDINGS = ("cert", "OCSP", "DNS_CAA", "intermediate_cert", "chain_of_trust")


def test_testssl_rates_nothing_high_or_critical(base_url: str, compose: Compose, tmp_path: Path) -> None:
    port = base_url.rsplit(":", 1)[1]
    report = tmp_path / "testssl.json"
    tmp_path.chmod(0o777)  # the scanner runs as an unprivileged user and writes its report here

    scan = compose(
        "run",
        "--rm",
        "--build",
        "-v",
        f"{tmp_path}:/out",
        "tlsscan",
        "--quiet",
        "--color",
        "0",
        "--warnings",
        "off",
        "--ip",
        "127.0.0.1",
        "--jsonfile",
        "/out/testssl.json",
        f"https://localhost:{port}",
        check=False,
        timeout=900,
    )
    assert report.exists(), scan.stdout[-2000:] + scan.stderr[-2000:]
    findings = json.loads(report.read_text())

    assert len(findings) > 50, "the scan did not run its checks"
    severe = [
        f"{f['id']}: {f['finding']}"
        for f in findings
        if f["severity"] in {"HIGH", "CRITICAL"} and not f["id"].startswith(CERTIFICATE_FINDINGS)
    ]
    assert severe == []
