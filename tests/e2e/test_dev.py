"""`make dev`: an edit under app/ shows up through Nginx within seconds, with no rebuild."""

import time
from pathlib import Path

import smoke
from stack import stack_in_copy


def test_an_edited_view_answers_without_a_rebuild(repo_copy: Path) -> None:
    with stack_in_copy(repo_copy, "dev") as (_, base_url):
        smoke.use_ca(str(repo_copy / "certs" / "local.crt"))
        assert smoke.request(base_url, "GET", "/api/health/").json()["status"] == "ok"
        view = repo_copy / "app" / "core" / "views.py"
        view.write_text(
            view.read_text().replace('"status": "ok", "database": "ok"', '"status": "edited", "database": "ok"')
        )

        deadline = time.monotonic() + 30
        while (status := smoke.request(base_url, "GET", "/api/health/").json().get("status")) != "edited":
            assert time.monotonic() < deadline, f"still {status!r} 30 s after the edit"
            time.sleep(0.5)

    assert status == "edited"
