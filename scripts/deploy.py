#!/usr/bin/env python3
"""Replace the running web containers with a new build, without failing a request.

    python3 scripts/deploy.py [--no-build] [--timeout S] -- docker compose --env-file .env

`make deploy` runs it. Steps (docs/operations.md#deploys):
1. Nginx is pinned to the running web containers (an upstream block of their addresses, then a
   graceful reload), so nothing new reaches a container before it is ready.
2. The new image is built (or, with --no-build, the one already tagged is used: a CI job that
   pulled it), and the migrations run as the one-shot job while the old version serves.
3. As many new web containers start beside the old ones; the deploy waits until they are healthy.
4. Nginx is pinned to the new containers; requests in flight on the old ones finish on Nginx's
   old workers, whose exit the deploy waits for (bounded).
5. The old containers stop gracefully (Gunicorn finishes what it has) and are removed; Nginx
   goes back to finding web in Docker's DNS, which now knows only the new containers; the
   scheduler restarts on the new image.
A failure before step 4 (the build, a migration, a container that never becomes healthy) puts
everything back as it was: the new containers are removed, the image tag points at the old
image again, and the old containers served throughout. Stdlib only: it runs on the host.
"""

import argparse
import fcntl
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POOL_FILE = "/etc/nginx/conf.d/pool.inc"
UPSTREAM_FILE = "/etc/nginx/conf.d/upstream.inc"
DNS_UPSTREAM = "set $web_upstream http://web:8000;\n"
WORKER = "nginx: worker process"
DRAINING = "nginx: worker process is shutting down"


class DeployError(Exception):
    """A step failed; the message says which and why."""


def say(message: str) -> None:
    print(f"deploy: {message}", flush=True)


def run(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 900) -> str:
    done = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise DeployError(f"`{' '.join(args[:6])}` failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return done.stdout


def inspect(container: str) -> dict:
    found: dict = json.loads(run("docker", "inspect", container))[0]
    return found


class Stack:
    """The Compose project: its web containers and its Nginx."""

    def __init__(self, compose: list[str]) -> None:
        self.compose = compose

    def __call__(self, *args: str, **kwargs: object) -> str:
        return run(*self.compose, *args, **kwargs)  # type: ignore[arg-type]

    def running(self, service: str) -> list[str]:
        return sorted(self("ps", "-q", "--status", "running", service).split())

    def nginx_processes(self) -> dict[str, str]:
        """Nginx's processes by pid, each with its title (read from /proc: exact, no ps needed)."""
        script = (
            'for p in /proc/[0-9]*; do printf "%s %s\\n" "${p#/proc/}" '
            '"$(tr "\\0" " " < "$p/cmdline" 2>/dev/null)"; done'
        )
        listing = self("exec", "-T", "nginx", "sh", "-c", script)
        found = {}
        for line in listing.splitlines():
            pid, _, title = line.partition(" ")
            found[pid] = title.strip()
        return found

    def route(self, addresses: list[str] | None) -> None:
        """Send Nginx's new requests to these addresses (None: web in Docker's DNS); return once
        the new workers run and the old ones take no new connection. Workers of the old
        configuration finish their requests meanwhile."""
        if addresses:
            servers = "".join(f"    server {address}:8000;\n" for address in addresses)
            pool, upstream = f"upstream web_pinned {{\n{servers}}}\n", "set $web_upstream http://web_pinned;\n"
        else:
            pool, upstream = "", DNS_UPSTREAM
        before = {pid for pid, title in self.nginx_processes().items() if title == WORKER}
        self("exec", "-T", "nginx", "sh", "-c", f'cat > "{POOL_FILE}"', stdin=pool)
        self("exec", "-T", "nginx", "sh", "-c", f'cat > "{UPSTREAM_FILE}"', stdin=upstream)
        self("exec", "-T", "nginx", "sh", "-c", "nginx -t -q && nginx -s reload")
        # Until new workers run and none of the old ones still accepts: an old worker takes new
        # connections until it handles the master's QUIT (it then closes its listening sockets and
        # is retitled "shutting down"), so wait_drained() would otherwise miss it.
        deadline = time.monotonic() + 30
        while True:
            workers = {pid for pid, title in self.nginx_processes().items() if title == WORKER}
            if workers - before and not workers & before:
                return
            if time.monotonic() > deadline:
                raise DeployError("Nginx did not start workers with the new configuration within 30 s")
            time.sleep(0.1)

    def wait_drained(self, timeout: float) -> bool:
        """Until no Nginx worker of an older configuration is left (their requests are done)."""
        deadline = time.monotonic() + timeout
        while DRAINING in self.nginx_processes().values():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True


def front_address(container: str) -> str:
    """The container's address on the stack's front network (where Nginx reaches it)."""
    networks = inspect(container)["NetworkSettings"]["Networks"]
    addresses = [net["IPAddress"] for name, net in networks.items() if name.endswith("_front") and net["IPAddress"]]
    if len(addresses) != 1:
        raise DeployError(f"container {container[:12]} has no single address on the front network: {networks}")
    return str(addresses[0])


def version_of(container: str) -> str:
    env = dict(item.partition("=")[::2] for item in inspect(container)["Config"]["Env"])
    return str(env.get("APP_VERSION", "unknown"))


def wait_healthy(containers: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = {c: inspect(c)["State"] for c in containers}
        if all(s.get("Health", {}).get("Status") == "healthy" for s in states.values()):
            return
        for container, state in states.items():
            if state.get("Health", {}).get("Status") == "unhealthy":
                raise DeployError(f"new container {container[:12]} is unhealthy: {last_health_output(state)}")
            if state["Status"] in ("exited", "dead") or state.get("RestartCount", 0) > 0:
                code = state["ExitCode"]
                raise DeployError(f"new container {container[:12]} exited (code {code}) before it was healthy")
        if time.monotonic() > deadline:
            raise DeployError(f"the new containers were not healthy within {timeout:.0f} s")
        time.sleep(1)


def last_health_output(state: dict) -> str:
    log = state.get("Health", {}).get("Log") or [{}]
    return str(log[-1].get("Output", "")).strip()[-300:] or "(no output)"


def logs_tail(container: str) -> str:
    done = subprocess.run(["docker", "logs", "--tail", "15", container], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip()


def deploy(stack: Stack, *, build: bool, timeout: float, drain_timeout: float) -> int:
    old = stack.running("web")
    if not old or not stack.running("nginx"):
        raise DeployError("the stack is not running: `make up` first (a deploy replaces running web containers)")
    image = inspect(old[0])["Config"]["Image"]
    old_image = inspect(old[0])["Image"]
    old_version = version_of(old[0])
    started = time.monotonic()
    say(f"{len(old)} web container(s) serving version {old_version}")

    stack.route([front_address(c) for c in old])
    new: list[str] = []
    switched = False
    try:
        if build:
            say("building the new image")
            stack("build", "--quiet", "web")
        new_image = json.loads(run("docker", "image", "inspect", image))[0]["Id"]
        if new_image == old_image:
            say(f"the running containers already run this image (version {old_version}); nothing to deploy")
            return 0
        say("running the migrations (the old version keeps serving)")
        migrate = subprocess.run(
            [*stack.compose, "run", "--rm", "--no-deps", "migrate"], capture_output=True, text=True, check=False
        )
        if migrate.returncode != 0:
            raise DeployError(f"the migrations failed:\n{(migrate.stdout + migrate.stderr).strip()[-1500:]}")

        stack("up", "--detach", "--no-deps", "--no-recreate", "--no-build", "--scale", f"web={2 * len(old)}", "web")
        new = [c for c in stack.running("web") if c not in old]
        if len(new) != len(old):
            raise DeployError(f"expected {len(old)} new web container(s), found {len(new)}")
        new_version = version_of(new[0])
        say(f"{len(new)} new container(s) with version {new_version}; waiting until healthy (up to {timeout:.0f} s)")
        try:
            wait_healthy(new, timeout)
        except DeployError as error:
            raise DeployError(f"{error}\n--- its last log lines ---\n{logs_tail(new[0])}") from None

        stack.route([front_address(c) for c in new])
        switched = True
        say("traffic moved to the new containers; waiting for requests in flight on the old ones")
        if not stack.wait_drained(drain_timeout):
            say(f"warning: Nginx still had requests to the old containers after {drain_timeout:.0f} s")
        run("docker", "stop", "--time", "30", *old)
        run("docker", "rm", *old)
        stack.route(None)
        stack("up", "--detach", "--no-deps", "--no-build", "scheduler")
    except BaseException as error:
        if switched:
            raise
        roll_back(stack, image=image, old_image=old_image, new=new, old=old)
        if isinstance(error, DeployError):
            raise DeployError(f"{error}\nrolled back: version {old_version} kept serving throughout") from None
        raise
    say(f"deployed {old_version} -> {new_version} in {time.monotonic() - started:.0f} s")
    return 0


def roll_back(stack: Stack, *, image: str, old_image: str, new: list[str], old: list[str]) -> None:
    say("rolling back")
    if new:
        run("docker", "rm", "--force", *new, check=False)
    run("docker", "tag", old_image, image, check=False)
    # Back to DNS, which knows only the old containers again.
    stack.route(None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-build", action="store_true", help="deploy the image already tagged")
    parser.add_argument("--timeout", type=float, default=120, help="seconds the new containers get to be healthy")
    parser.add_argument("--drain-timeout", type=float, default=60, help="seconds in-flight requests get")
    parser.add_argument("compose", nargs="+", help="the compose command, after --")
    args = parser.parse_args()
    stack = Stack(args.compose)
    project = stack("config", "--format", "json")
    lock_path = Path(tempfile.gettempdir()) / f"djstack-deploy-{json.loads(project)['name']}.lock"
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("error: another deploy of this stack is running", file=sys.stderr)
            return 1
        try:
            return deploy(stack, build=not args.no_build, timeout=args.timeout, drain_timeout=args.drain_timeout)
        except DeployError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
