"""Every constant of the bench in one place: durations, rounds, where wrk aims, the baselines."""

THREADS = 2  # wrk's threads
# The wrk containers' life if the bench is killed outright; a run takes 3.5 to 5 minutes.
WRK_CONTAINER_SECONDS = 1800
SOAK_CHUNK = 30  # seconds
# A PBKDF2 sign-in takes about a second here, four at a time: a shorter run may complete none.
PBKDF2_SECONDS = 3
# Each baseline is measured in ROUNDS short runs, each followed by one of /api/me/, a PAIR_SHARE of
# the scenario duration each (2 s of the default 5), so the bench stays under 5 minutes. Five: with
# three, one odd round in a drifting machine moved the median pair by as much as a bar's margin.
ROUNDS = 5
PAIR_SHARE = 0.4

# The production stack with the benchmark rig (bench/compose.yml) merged on top.
COMPOSE_FILES = ("-f", "docker-compose.yml", "-f", "bench/compose.yml")
# Where wrk's requests go: Nginx by service name on the stack's front network, where production
# traffic arrives; the published port (127.0.0.1) only for the row that measures it.
STACK_NGINX = "https://nginx"
BASELINE_NGINX = "https://bench-nginx"

# Static files are fetched as browsers fetch them, accepting gzip (the precompressed copies).
GZIP = {"Accept-Encoding": "gzip"}
# The bench user's tokens, minted in the web container so no sign-in is spent on them.
MINT_TOKENS = """
from datetime import timedelta
from accounts.models import User
from accounts.tokens import SessionRefreshToken
user = User.objects.get(username="bench")
access = SessionRefreshToken.for_user(user).access_token
access.set_exp(lifetime=timedelta(minutes=30))  # outlives the run (the default is 5 minutes)
print("TOKENS", access, *(SessionRefreshToken.for_user(user) for _ in range(64)))
"""

# bench-app and bench-nginx as the stack runs, unless a baseline says otherwise.
BASELINE_DEFAULTS = {
    "BENCH_APP_COMMAND": "gunicorn --config /app/config/gunicorn.py config.wsgi:application",
    "BENCH_PASSWORD_HASHER": "argon2",
    "BENCH_NGINX_AUTH_RATE": "5r/s",
    "BENCH_NGINX_AUTH_BURST": "20",
    "BENCH_NGINX_AUTH_DELAY": "10",
    "BENCH_NGINX_SITE": "./nginx/templates/default.conf.template",
}
# Lifted: Nginx counts in milliseconds, so a high rate alone still refuses more than `burst`
# requests arriving in the same millisecond (32 connections at the start of a run do).
LIFTED = {"BENCH_NGINX_AUTH_RATE": "100000r/s", "BENCH_NGINX_AUTH_BURST": "100000", "BENCH_NGINX_AUTH_DELAY": "100000"}
# The bare app is mounted from bench/ (bench/compose.yml): it ships in no image.
CEILING_COMMAND = "gunicorn --config /app/config/gunicorn.py --pythonpath /bench hello_wsgi:application"
RUNSERVER_COMMAND = "python manage.py runserver 0.0.0.0:8000 --noreload"
# Django's defaults: a new database connection for each request, closed at its end (what settings
# without a CONN_MAX_AGE get, such as startproject's and the usual first Docker setup's), and the
# token's user read on every request, whatever JWT_USER_CACHE_SECONDS the stack's .env opts into
# (with it, these baselines would skip their database reads).
DJANGO_DEFAULTS = {"CONN_MAX_AGE": "0", "JWT_USER_CACHE_SECONDS": "0"}
# runserver needs it too: with the stack's 60 s, each of its per-connection threads kept a
# connection open until PostgreSQL ran out of slots, which failed its own requests and those of
# web's freshly recycled workers.
RUNSERVER_BASELINE = {"BENCH_APP_COMMAND": RUNSERVER_COMMAND} | DJANGO_DEFAULTS
# The defaults the stack changes: Gunicorn's (one sync worker; only the port given, and no control
# socket, for the read-only root), Django's connections, and Nginx proxying static files to Django.
NAIVE_COMMAND = "gunicorn --bind 0.0.0.0:8000 --no-control-socket config.wsgi:application"
NAIVE = {
    "BENCH_APP_COMMAND": NAIVE_COMMAND,
    "BENCH_NGINX_SITE": "./bench/naive.conf.template",
} | DJANGO_DEFAULTS
