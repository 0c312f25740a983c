#!/usr/bin/env python3
"""Print where `make up`'s time went: the build, the migrate job, the wait until healthy.

    python3 scripts/up_times.py ENV_FILE STARTED BUILT READY

STARTED, BUILT and READY are the Unix times the Makefile read before `build`, after it and once
`up --wait` returned; the migrate job's own run time comes from its container (Docker's start
and finish times).
"""

import subprocess
import sys
from datetime import datetime


def moment(text: str) -> datetime:
    """Docker's RFC 3339 time, nanoseconds cut to what datetime holds."""
    head, _, rest = text.strip().partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6] or "0"
    return datetime.fromisoformat(f"{head}.{fraction}+00:00")


def migrate_seconds(env_file: str) -> float | None:
    """How long the migrate job's last run took, or None when it has not run."""
    ids = subprocess.run(
        ["docker", "compose", "--env-file", env_file, "ps", "--all", "--quiet", "migrate"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if not ids:
        return None
    times = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.StartedAt}} {{.State.FinishedAt}}", ids[0]],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if len(times) != 2 or times[1].startswith("0001"):
        return None
    return (moment(times[1]) - moment(times[0])).total_seconds()


def main() -> int:
    env_file, started, built, ready = sys.argv[1], *map(float, sys.argv[2:5])
    build, start = built - started, ready - built
    migrate = migrate_seconds(env_file)
    migrated = f" (the migrate job ran {migrate:.1f} s of it)" if migrate is not None else ""
    print(f"make up took {build + start:.0f} s: build {build:.0f} s, start until healthy {start:.0f} s{migrated}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
