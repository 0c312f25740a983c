#!/usr/bin/env python3
"""Exit 0 when the local certificate is due for renewal, 1 when it is good for now.

    python3 scripts/cert_due.py certs/local.crt

Due: missing, unreadable, expiring within 30 days, or valid for longer than Mozilla's TLS
guidelines and browsers accept (398 days; `make certs` issued 825-day ones before). `make up`
renews the self-signed local certificate when due; a certificate the operator brings
(TLS_CERT_FILE) is never touched. Stdlib only: it runs on the host before anything is installed.
"""

import ssl
import sys
import time
from pathlib import Path

RENEW_BEFORE_SECONDS = 30 * 86400
LONGEST_LIFETIME_SECONDS = 398 * 86400


def due(path: Path, now: float) -> str | None:
    """Why the certificate at `path` is due for renewal, or None when it is not."""
    if not path.is_file():
        return "there is none"
    try:
        decoded = ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]  # stdlib, no other parser
        not_before = ssl.cert_time_to_seconds(decoded["notBefore"])
        not_after = ssl.cert_time_to_seconds(decoded["notAfter"])
    except (AttributeError, KeyError, ValueError, ssl.SSLError) as exc:
        return f"it cannot be read ({exc})"
    if not_after - now < RENEW_BEFORE_SECONDS:
        return f"it expires in {max(0, int((not_after - now) // 86400))} days"
    if not_after - not_before > LONGEST_LIFETIME_SECONDS:
        return f"it is valid for {int((not_after - not_before) // 86400)} days, more than browsers accept (398)"
    return None


def main() -> int:
    path = Path(sys.argv[1])
    reason = due(path, time.time())
    if reason is None:
        return 1
    print(f"{path}: renewing the local certificate: {reason}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
