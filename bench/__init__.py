"""make bench: load the running stack with wrk, against baselines, and report the bars.

    python3 -m bench --env-file .env [--duration 5] [--connections 32] [--soak 100000]

wrk runs in a container on the stack's front network and reaches Nginx by its service name, as a
remote client's request arrives; one extra row measures /api/me/ through the port published on
127.0.0.1 (Docker's loopback proxy included). The baselines (a bare WSGI app, runserver, a naive
setup, the stack with its sign-in limits lifted or with PBKDF2) run one at a time in bench-app
behind a second Nginx (bench-nginx). Figures, the bars and web's worker memory over a soak are
printed and saved under bench-results/ as JSON, Markdown and an SVG chart. Stdlib only.

Modules: config (every constant), scenarios (stable ids and display labels), wrk (running and
reading wrk), docker (docker and compose calls), runner (the Bench: user, tokens, wrk's
containers, baselines), plan (the stack's scenarios, the baselines, the soak), report (bars,
Markdown, chart), cli (the command line).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The stdlib HTTP client the smoke checks use (scripts/smoke.py).
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))
