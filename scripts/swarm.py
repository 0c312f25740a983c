"""Deploy the stack on Docker Swarm (swarm/stack.yml), check it, remove it: make swarm-up / -smoke / -down.

up:    init a single-node swarm only if the engine is in none (and remember that it did, as a
       label on the node); label the db node when there is one node; build and tag the
       images per build; create the secrets and configs (their names carry a hash of the content);
       deploy in two steps, so migrations are applied before web moves to the new image:
         1. the jobs (db-roles, migrate) with the new image, web left as it runs (none at first);
         2. once both jobs have completed, web with the new image: Swarm's rolling update,
            start-first, rolled back by Swarm when a new task does not become healthy.
       Then wait until every service has converged and /api/health/ answers through Nginx.
down:  remove the stack, wait until its containers and networks are gone, remove its secrets
       and configs (--volumes: its volumes too), leave the swarm only if `up` created it and no
       container of a Compose stack runs beside it (leaving would break their DNS).

Stdlib only: it runs on the host's python3, like the other scripts.
"""

import argparse
import hashlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACK_FILE = ROOT / "swarm" / "stack.yml"
CREATED_LABEL = "djstack.swarm-created-by"  # on the node, when `up` initialised the swarm
DB_LABEL = "djstack.db"
# Secrets: the stack's name for each, and the env file's variable it comes from (or its *_FILE).
SECRETS = {
    "secret_key": "SECRET_KEY",
    "jwt_signing_key": "JWT_SIGNING_KEY",
    "postgres_password": "POSTGRES_PASSWORD",
    "database_password": "DATABASE_PASSWORD",
    "database_owner_password": "DATABASE_OWNER_PASSWORD",
    "email_url": "EMAIL_URL",
}
# The app's secrets, read in the containers through *_FILE (the env file gets these instead).
APP_SECRET_FILES = {"SECRET_KEY": "secret_key", "JWT_SIGNING_KEY": "jwt_signing_key",
                    "DATABASE_PASSWORD": "database_password", "EMAIL_URL": "email_url"}  # fmt: skip
# Secrets this stack does not carry yet: refused rather than put in the environment.
UNSUPPORTED_SECRETS = ("SENTRY_DSN", "EMAIL_HOST_PASSWORD")
DEFAULT_NETWORKS = {"bridge", "host", "none", ""}
CONFIGS = {"db_entrypoint": ROOT / "db" / "entrypoint.sh", "db_setup_roles": ROOT / "db" / "setup-roles.sh"}


class SwarmError(Exception):
    """A step failed; the message says which and why."""


def docker(*args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise SwarmError(f"docker {' '.join(args[:3])}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def env_file_values(path: Path) -> dict[str, str]:
    """The KEY=value lines of an env file (the last one wins, as in Compose)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value
    return values


def compose(env_file: Path, *args: str) -> list[str]:
    return ["docker", "compose", "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml"), *args]


def compose_config(env_file: Path) -> dict:
    out = subprocess.run(
        compose(env_file, "config", "--format", "json"),
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    return json.loads(out)  # type: ignore[no-any-return]


def secret_value(values: dict[str, str], name: str) -> str:
    """The value of `name` in the env file, or the contents of the file its *_FILE names."""
    file = values.get(f"{name}_FILE", "").strip()
    value = Path(file).read_text().strip() if file else values.get(name, "").strip()
    if not value:
        raise SwarmError(f"{name} (or {name}_FILE) is empty in the env file: the stack needs it as a secret")
    return value


def content_name(stack: str, kind: str, data: str) -> str:
    return f"{stack}_{kind}_{hashlib.sha256(data.encode()).hexdigest()[:12]}"


def ensure_object(kind: str, stack: str, key: str, data: str) -> str:
    """Create a secret or config named after its content, unless it exists; return its name."""
    name = content_name(stack, key, data)
    if not docker(kind, "ls", "-q", "--filter", f"name={name}"):
        docker(kind, "create", "--label", f"djstack.stack={stack}", name, "-", stdin=data)
    return name


# ---- swarm membership -----------------------------------------------------------------------
def swarm_state() -> str:
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}")


def swarm_ensure(stack: str) -> None:
    state = swarm_state()
    if state == "inactive":
        docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377")
        docker(
            "node", "update", "--label-add", f"{CREATED_LABEL}={stack}", docker("info", "--format", "{{.Swarm.NodeID}}")
        )
        print("A single-node swarm was initialised here (make swarm-down leaves it again).")
    elif state != "active":
        raise SwarmError(f"this engine's swarm state is {state!r}: fix it (docker info) and try again")
    elif docker("info", "--format", "{{.Swarm.ControlAvailable}}") != "true":
        raise SwarmError("this node is a swarm worker: run make swarm-up on a manager")
    labelled = docker("node", "ls", "-q", "--filter", f"node.label={DB_LABEL}=true")
    if not labelled:
        nodes = docker("node", "ls", "-q").split()
        if len(nodes) != 1:
            raise SwarmError(
                f"no node is labelled {DB_LABEL}=true, and there are {len(nodes)}: label the one that keeps the "
                f"database's volumes (docker node update --label-add {DB_LABEL}=true NODE)"
            )
        docker("node", "update", "--label-add", f"{DB_LABEL}=true", nodes[0])


def containers_on_user_networks() -> list[str]:
    """Running containers attached to a network other than Docker's defaults (Compose stacks')."""
    rows = docker("ps", "--format", "{{.Names}} {{.Networks}}").splitlines()
    return [name for name, _, nets in (row.partition(" ") for row in rows) if set(nets.split(",")) - DEFAULT_NETWORKS]


def swarm_leave_if_ours(stack: str) -> None:
    if swarm_state() != "active":
        return
    created_by = docker("node", "inspect", "self", "--format", '{{index .Spec.Labels "' + CREATED_LABEL + '"}}')
    if created_by != stack:
        return
    if docker("service", "ls", "-q"):
        print("The swarm has other services: it is left as it is.")
        return
    # Leaving a swarm breaks Docker's DNS in containers already running on user-defined networks
    # (Docker 20.10): a Compose stack running beside would lose its names (web could not find db).
    running = containers_on_user_networks()
    if running:
        print(
            f"The swarm is kept: leaving it now would break name resolution in {len(running)} running "
            f"container(s) ({', '.join(running[:3])}...). Once they are stopped: make swarm-down "
            "(or docker swarm leave --force)."
        )
        return
    docker("swarm", "leave", "--force")
    print("Left the swarm that make swarm-up had initialised.")


# ---- images, secrets, the environment of the deploy -------------------------------------------
def build_images(env_file: Path, project: str) -> dict[str, str]:
    """Build web and nginx with Compose, tag each with its image id; return the tags."""
    built = subprocess.run(compose(env_file, "build", "web", "nginx"), cwd=ROOT, capture_output=True, text=True)
    if built.returncode != 0:
        raise SwarmError(f"the images did not build:\n{built.stdout[-3000:]}{built.stderr[-3000:]}")
    tags = {}
    for service in ("web", "nginx"):
        # Named by content: a build that changes nothing in an image keeps its tag, so Swarm does
        # not replace its tasks (Nginx's replacement is stop-first: its ports are the node's).
        image_id = docker("image", "inspect", "--format", "{{.Id}}", f"{project}-{service}").split(":")[-1]
        tag = f"{project}-{service}:{image_id[:12]}"
        docker("tag", f"{project}-{service}", tag)
        tags[service] = tag
    return tags


def app_env_file(config: dict, directory: Path) -> Path:
    """Web's environment as Compose would pass it, with every secret replaced by its *_FILE."""
    env = dict(config["services"]["web"]["environment"] or {})
    for name in UNSUPPORTED_SECRETS:
        if (env.get(name) or "").strip() or (env.get(f"{name}_FILE") or "").strip():
            raise SwarmError(
                f"{name} is set: the Swarm stack does not carry it as a secret yet (docs/operations.md#docker-swarm)"
            )
    for name, secret in APP_SECRET_FILES.items():
        env.pop(name, None)
        env[f"{name}_FILE"] = f"/run/secrets/{secret}"
    env.pop("DATABASE_URL", None)  # the stack file sets it per service (migrate connects as the owner)
    path = directory / "app.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in sorted(env.items()) if value is not None))
    path.chmod(0o600)
    return path


def deploy_environment(env_file: Path, stack: str, images: dict[str, str], directory: Path) -> dict[str, str]:
    values = env_file_values(env_file)
    config = compose_config(env_file)
    # As in Compose, the shell's environment wins over the env file (make swarm-up WEB_REPLICAS=3).
    env = {**{k: v for k, v in values.items() if k not in SECRETS.values()}, **os.environ}
    for key, variable in SECRETS.items():
        env[f"STACK_SECRET_{key.upper()}"] = ensure_object("secret", stack, key, secret_value(values, variable))
    for key, path in CONFIGS.items():
        env[f"STACK_CONFIG_{key.upper()}"] = ensure_object("config", stack, key, path.read_text())
    cert = Path(values.get("TLS_CERT_FILE") or ROOT / "certs" / "local.crt")
    key_file = Path(values.get("TLS_KEY_FILE") or ROOT / "certs" / "local.key")
    env["STACK_CONFIG_TLS_CERT"] = ensure_object("config", stack, "tls_cert", cert.read_text())
    env["STACK_SECRET_TLS_KEY"] = ensure_object("secret", stack, "tls_key", key_file.read_text())
    env["STACK_APP_ENV_FILE"] = str(app_env_file(config, directory))
    env["STACK_WEB_IMAGE"] = env["STACK_MIGRATE_IMAGE"] = images["web"]
    env["STACK_NGINX_IMAGE"] = images["nginx"]
    return env


def stack_deploy(stack: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        ["docker", "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", str(STACK_FILE), stack],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        raise SwarmError(f"docker stack deploy: {result.stderr.strip()}")


# ---- waiting ----------------------------------------------------------------------------------
def service(stack: str, name: str) -> dict | None:
    out = docker("service", "inspect", f"{stack}_{name}", check=False)
    return json.loads(out)[0] if out.startswith("[") and out != "[]" else None


def tasks_of(stack: str, name: str) -> list[dict]:
    ids = docker("service", "ps", "-q", "--no-trunc", f"{stack}_{name}", check=False).split()
    return json.loads(docker("inspect", *ids)) if ids else []


def wait_for_job(stack: str, name: str, timeout: float) -> None:
    """Until the job's current iteration has a completed task; SwarmError when it keeps failing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spec = service(stack, name)
        iteration = ((spec or {}).get("JobStatus") or {}).get("JobIteration", {}).get("Index")
        current = [t for t in tasks_of(stack, name) if t.get("JobIteration", {}).get("Index") == iteration]
        if any(t["Status"]["State"] == "complete" for t in current):
            return
        failed = [t for t in current if t["Status"]["State"] in ("failed", "rejected")]
        max_attempts = (
            (spec or {}).get("Spec", {}).get("TaskTemplate", {}).get("RestartPolicy", {}).get("MaxAttempts", 0)
        )
        if max_attempts and len(failed) > max_attempts:
            raise SwarmError(f"the {name} job failed {len(failed)} times; its logs: docker service logs {stack}_{name}")
        time.sleep(1)
    raise SwarmError(
        f"the {name} job did not complete within {timeout:.0f} s; its logs: docker service logs {stack}_{name}"
    )


def converged(stack: str, name: str) -> tuple[bool, str]:
    """Whether the service runs its desired replicas, healthy, with no update under way."""
    spec = service(stack, name)
    if spec is None:
        return False, "missing"
    update = (spec.get("UpdateStatus") or {}).get("State", "")
    if update in ("rollback_completed", "rollback_paused", "paused"):
        return False, f"update {update}: {(spec.get('UpdateStatus') or {}).get('Message', '')}"
    if update in ("updating", "rollback_started"):
        return False, update
    want = spec["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas", 1)
    image = spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0]
    running = [
        t for t in tasks_of(stack, name)
        if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
        and t["Spec"]["ContainerSpec"]["Image"].split("@")[0] == image
    ]  # fmt: skip
    return len(running) == want, f"{len(running)}/{want} running"


def wait_converged(stack: str, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = {name: converged(stack, name) for name in names}
        if all(done for done, _ in states.values()):
            return
        failed = {n: why for n, (_, why) in states.items() if why.startswith("update rollback")}
        if failed:
            raise SwarmError("rolled back: " + "; ".join(f"{n}: {why}" for n, why in failed.items()))
        if time.monotonic() > deadline:
            raise SwarmError("not converged: " + "; ".join(f"{n}: {why}" for n, (_, why) in states.items()))
        time.sleep(1)


def wait_healthy_through_nginx(url: str, cacert: Path, timeout: float) -> None:
    context = ssl.create_default_context(cafile=str(cacert))
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as reply:  # noqa: S310  (127.0.0.1)
                if reply.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(1)
    raise SwarmError(f"{url} did not answer 200 within {timeout:.0f} s ({last})")


# ---- commands ---------------------------------------------------------------------------------
def up(args: argparse.Namespace) -> None:
    stack, env_file = args.stack, Path(args.env_file)
    swarm_ensure(stack)
    images = build_images(env_file, args.project)
    with tempfile.TemporaryDirectory(prefix="swarm-") as tmp:
        env = deploy_environment(env_file, stack, images, Path(tmp))
        want = env.get("WEB_REPLICAS") or "2"
        running = service(stack, "web")
        # Step 1: the jobs with the new image; web as it runs (none on a first deploy).
        if running is not None:
            env["STACK_WEB_IMAGE"] = running["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0]
            env["WEB_REPLICAS"] = str(running["Spec"]["Mode"]["Replicated"]["Replicas"])
        else:
            env["WEB_REPLICAS"] = "0"
        stack_deploy(stack, env)
        wait_for_job(stack, "db-roles", args.timeout)
        wait_for_job(stack, "migrate", args.timeout)
    # Step 2: web and the scheduler on the new image, rolling as the stack's update_config says. Not
    # a second stack deploy: that would run the jobs again (any update of a job runs it anew).
    for name, replicas in (("web", want), ("scheduler", "1")):
        docker("service", "update", "--detach", "--image", images["web"], "--replicas", replicas, f"{stack}_{name}")
    wait_converged(stack, ["db", "web", "scheduler", "nginx"], args.timeout)
    port = env_file_values(env_file).get("HTTPS_PORT") or "8443"
    url = f"https://127.0.0.1:{port}/api/health/"
    wait_healthy_through_nginx(url, Path(args.cacert), 60)
    print(f"The stack {stack} is up on the swarm ({want} web replicas, {images['web']}): {url}")


def down(args: argparse.Namespace) -> None:
    stack = args.stack
    if swarm_state() != "active":
        print("No swarm here: nothing to remove.")
        return
    docker("stack", "rm", stack, check=False)
    deadline = time.monotonic() + args.timeout
    label = f"com.docker.stack.namespace={stack}"
    while docker("service", "ls", "-q", "--filter", f"label={label}") or docker(
        "ps", "-q", "--filter", f"label={label}"
    ):
        if time.monotonic() > deadline:
            raise SwarmError(f"the stack's services are still there after {args.timeout:.0f} s")
        time.sleep(1)
    # The jobs' finished containers stay behind their removed services.
    exited = docker("ps", "-aq", "--filter", f"label={label}").split()
    if exited:
        docker("rm", "--volumes", *exited)  # and their anonymous volumes (the image declares some)
    while docker("network", "ls", "-q", "--filter", f"label={label}"):
        if time.monotonic() > deadline:
            raise SwarmError(f"the stack's networks are still there after {args.timeout:.0f} s")
        time.sleep(1)
    for kind in ("secret", "config"):
        names = docker(kind, "ls", "-q", "--filter", f"label=djstack.stack={stack}").split()
        if names:
            docker(kind, "rm", *names)
    if args.volumes:
        volumes = docker("volume", "ls", "-q", "--filter", f"label={label}").split()
        if volumes:
            docker("volume", "rm", *volumes)
    else:
        print(f"The stack's volumes are kept (docker volume ls --filter label={label}).")
    swarm_leave_if_ours(stack)
    print(f"The stack {stack} is removed.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--stack", required=True, help="the stack's name (make: the compose project name)")
    parser.add_argument("--project", default="", help="the compose project whose images to build and tag")
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--cacert", default=str(ROOT / "certs" / "local.crt"))
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--volumes", action="store_true", help="down: remove the stack's volumes too (all data)")
    args = parser.parse_args()
    args.project = args.project or args.stack
    try:
        up(args) if args.command == "up" else down(args)
    except SwarmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
