#!/usr/bin/env python3
"""Fail with a clear message when a port the stack would publish is taken by something else.

    python3 scripts/check_port.py ENV_FILE [RUNNING_NGINX_ID]

With the stack's own Nginx already running (its container id given), the port is ours: no check.
"""

import socket
import sys
from pathlib import Path


def read_env(path: Path) -> dict[str, str]:
    """Parse NAME=VALUE lines of a compose env file (comments and blanks skipped, quotes removed)."""
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip().strip("'\"")
    return values


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As Docker binds: connections of a stopped stack lingering in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except PermissionError:
            return True  # a privileged port: Docker binds it, we cannot probe it
        except OSError:
            return False
    return True


def main() -> int:
    env = read_env(Path(sys.argv[1]))
    if len(sys.argv) > 2 and sys.argv[2].strip():
        return 0
    host = env.get("HTTP_BIND") or "127.0.0.1"
    for name, default in (("HTTP_PORT", "8080"), ("HTTPS_PORT", "8443")):
        port = env.get(name) or default
        if not port.isdigit():
            print(f"error: {name}={port!r} in {sys.argv[1]} is not a port number.", file=sys.stderr)
            return 1
        if not port_is_free(host, int(port)):
            print(
                f"error: port {host}:{port} is already in use by another program.\n"
                f"       Set {name} in {sys.argv[1]} to a free port, or stop that program.",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
