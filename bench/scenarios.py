"""Scenario ids, which the results file keeps, and the labels people read, which may change."""

from dataclasses import dataclass, field

STATIC, HEALTH, ME, ME_PUBLISHED = "static", "health", "me", "me_published_port"
ME_CALM, FLOOD, ME_FLOOD, SOAK = "me_before_flood", "signin_flood", "me_during_flood", "health_soak"
REFRESH, VERIFY, LOGIN, LOGIN_PBKDF2 = "refresh_lifted", "verify_lifted", "login_argon2id", "login_pbkdf2"
CEILING, RUNSERVER, NAIVE_ME, NAIVE_STATIC = "ceiling", "runserver_me", "naive_me", "naive_static"

LABELS = {
    STATIC: "static file, gzip (Nginx)",
    ME: "/api/me/ (Bearer)",
    HEALTH: "/api/health/",
    ME_PUBLISHED: "/api/me/ via the published port (+ Docker's proxy)",
    ME_CALM: "/api/me/ right before the flood",
    FLOOD: "sign-in flood, 8 conn (Nginx limits it)",
    ME_FLOOD: "/api/me/ during the flood",
    SOAK: "/api/health/ soak (memory)",
    REFRESH: "/api/token/refresh/ (limits lifted)",
    VERIFY: "/api/token/verify/ (limits lifted)",
    LOGIN: "/api/token/ Argon2id, 4 conn (limits lifted)",
    LOGIN_PBKDF2: "/api/token/ PBKDF2, 4 conn (limits lifted)",
    CEILING: "ceiling: bare WSGI hello, same Gunicorn + Nginx",
    RUNSERVER: "runserver /api/me/",
    NAIVE_ME: "naive /api/me/ (1 sync worker, CONN_MAX_AGE=0)",
    NAIVE_STATIC: "naive static file, gzip (through Django)",
}
# The baselines /api/me/ alternates with, by the short name their paired runs carry.
SHORT_NAMES = {CEILING: "ceiling", RUNSERVER: "runserver", NAIVE_ME: "naive"}
for _baseline, _short in SHORT_NAMES.items():
    LABELS[f"me_after_{_short}"] = f"/api/me/ again, right after the {_short}"
# Not the stack as configured: drawn apart in the chart.
BASELINES = {*SHORT_NAMES, NAIVE_STATIC, REFRESH, VERIFY, LOGIN, LOGIN_PBKDF2}
# How each alternated pair's per-round ratio reads in the report.
ROUND_RATIOS = {STATIC: "the static file over /api/me/"} | {
    baseline: f"/api/me/ over the {name}" for baseline, name in SHORT_NAMES.items()
}


def label(scenario_id: str) -> str:
    """What people read for a scenario id (the id itself for one the table does not know)."""
    return LABELS.get(scenario_id, scenario_id)


def next_to(baseline: str) -> str:
    """The id of the /api/me/ run that follows a baseline's."""
    return f"me_after_{SHORT_NAMES[baseline]}"


@dataclass
class Scenario:
    id: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    connections: int | None = None
    script: str | None = None  # a Lua script in the bench image's /wrk/
    env: dict[str, str] = field(default_factory=dict)  # for the script
    duration: int | None = None  # seconds, if not the run's
    published: bool = False  # from the host's network, through the port published on 127.0.0.1
