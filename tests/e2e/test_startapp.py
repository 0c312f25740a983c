"""`make startapp` adds a working owner-scoped resource whose own tests pass under `make pytest`, and a
model changed without its migration stops `make up` with a clear error instead of answering 500."""

import secrets
import subprocess
from pathlib import Path

import smoke
from paths import ROOT
from stack import make_in, stack_in_copy

# A name no checkout has: the copy carries the user's own apps too (untracked files included).
APP = f"probes{secrets.token_hex(3)}"


def add_probes(repo: Path, env: Path) -> None:
    # This checkout's tools (ruff), so the copy installs none of its own.
    added = make_in(repo, "startapp", f"NAME={APP}", "MODEL=Probe", f"ENV_FILE={env}", f"VENV={ROOT / '.venv'}")
    assert added.returncode == 0, added.stdout[-2000:] + added.stderr[-2000:]
    assert (repo / "app" / APP / "migrations" / "0001_initial.py").is_file()


def test_a_new_resource_works_through_nginx_and_its_own_tests_pass(repo_copy: Path) -> None:
    with stack_in_copy(repo_copy, prepare=lambda env: add_probes(repo_copy, env)) as (env, base_url):
        compose = ["docker", "compose", "--env-file", str(env)]
        password = secrets.token_urlsafe(18)
        subprocess.run([*compose, "exec", "-T", "web", "python", "manage.py", "ensure_user", "reader"],
                       cwd=repo_copy, input=password + "\n", text=True, capture_output=True, check=True)  # fmt: skip
        smoke.use_ca(str(repo_copy / "certs" / "local.crt"))
        access = smoke.request(
            base_url, "POST", "/api/token/", json_body={"username": "reader", "password": password}
        ).json()["access"]
        created = smoke.request(
            base_url, "POST", f"/api/{APP}/", json_body={"title": "docs"}, headers=smoke.bearer(access)
        )
        listed = smoke.request(base_url, "GET", f"/api/{APP}/", headers=smoke.bearer(access))
        own_tests = make_in(
            repo_copy, "pytest", f"ENV_FILE={env}", f"ARGS=tests/app/{APP} tests/app/config/test_openapi.py"
        )

        model = repo_copy / "app" / APP / "models.py"
        model.write_text(
            model.read_text().replace("    created_at =", "    url = models.URLField(default='')\n    created_at =", 1)
        )
        unmigrated = make_in(repo_copy, "up", f"ENV_FILE={env}")

    assert created.status == 201, created.body[:300]
    assert [item["title"] for item in listed.json()["results"]] == ["docs"]
    assert own_tests.returncode == 0, own_tests.stdout[-3000:]
    assert unmigrated.returncode != 0
    assert "a model changed without a migration" in unmigrated.stderr + unmigrated.stdout
