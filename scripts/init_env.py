#!/usr/bin/env python3
"""Create an env file from .env.example with freshly generated secrets; never overwrite one.

An existing file is kept; a secret it lacks altogether (a variable added since it was created,
set neither as NAME nor as NAME_FILE) is appended with a generated value, and named.

    python3 scripts/init_env.py .env
    python3 scripts/init_env.py --set HTTP_PORT=18080 --set COMPOSE_PROJECT_NAME=x-test /tmp/test.env

Stdlib only: it runs on the host before anything is installed.
"""

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
# Left empty in .env.example; each gets its own random value. URL-safe characters only,
# so a password can also sit inside a DATABASE_URL.
SECRETS = (
    "SECRET_KEY",
    "JWT_SIGNING_KEY",
    "POSTGRES_PASSWORD",
    "DATABASE_PASSWORD",
    "DATABASE_OWNER_PASSWORD",
    "DATABASE_MONITOR_PASSWORD",
)
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def render(example: str, overrides: dict[str, str]) -> str:
    """Return the example's text with empty secrets filled in and overrides applied (or appended)."""
    pending = dict(overrides)
    lines = []
    for line in example.splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            name, value = match["name"], match["value"]
            if name in pending:
                line = f"{name}={pending.pop(name)}"
            elif name in SECRETS and not value:
                line = f"{name}={secrets.token_urlsafe(48)}"
        lines.append(line)
    lines += [f"{name}={value}" for name, value in pending.items()]
    return "\n".join(lines) + "\n"


def add_missing_secrets(path: Path) -> int:
    """Append the secrets `path` lacks altogether and say which; silent when it lacks none."""
    text = path.read_text()
    named = {match["name"] for match in map(ASSIGNMENT.match, text.splitlines()) if match}
    missing = [name for name in SECRETS if name not in named and f"{name}_FILE" not in named]
    if not missing:
        return 0
    added = "".join(f"{name}={secrets.token_urlsafe(48)}\n" for name in missing)
    separator = "" if text.endswith("\n") or not text else "\n"
    with path.open("a") as env_file:
        env_file.write(f"{separator}# Added by make up: secrets this file did not have yet.\n{added}")
    print(f"{path} exists: kept, with new secrets added ({', '.join(missing)}).")
    return 0


def parse_override(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not ASSIGNMENT.match(text):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the env file to create, e.g. .env")
    parser.add_argument("--set", type=parse_override, action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    if args.path.exists():
        return add_missing_secrets(args.path)
    text = render(EXAMPLE.read_text(), dict(args.set))
    # Owner-only from the first byte: the file holds secrets.
    fd = os.open(args.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as env_file:
        env_file.write(text)
    print(f"{args.path} created from .env.example with new secrets ({', '.join(SECRETS)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
