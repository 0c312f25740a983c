#!/usr/bin/env python3
"""Refuse to start a stack whose Compose project already belongs to another checkout.

    python3 scripts/check_owner.py PROJECT_NAME

Compose adopts any container labelled with its project name: a second checkout that uses the same
name (an explicit COMPOSE_PROJECT_NAME, or two folders of the same name) would recreate the first
one's containers with its own secrets, and its migrate would fail on the first one's database
volume. Each container records the folder it was created from; a different folder stops `make up`.
"""

import os
import subprocess
import sys
from pathlib import Path

WORKING_DIR = "com.docker.compose.project.working_dir"


def owners(project: str) -> set[str]:
    """The folders the project's existing containers were created from."""
    listed = subprocess.run(
        ["docker", "ps", "--all", "--filter", f"label=com.docker.compose.project={project}",
         "--format", f'{{{{.Label "{WORKING_DIR}"}}}}'],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {line.strip() for line in listed.stdout.splitlines() if line.strip()}


def main() -> int:
    project = sys.argv[1]
    here = os.path.realpath(Path.cwd())
    others = sorted(folder for folder in owners(project) if os.path.realpath(folder) != here)
    if others:
        print(
            f"error: the Compose project {project!r} belongs to another checkout: {others[0]}.\n"
            f"       Its containers and database volume are not this checkout's to replace. Set\n"
            f"       COMPOSE_PROJECT_NAME in your env file to another name, or run `make down` there first.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
