# The front door: `make` lists the targets. Every target runs against the compose stack.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON   ?= python3
ENV_FILE ?= .env
# The acme service (its compose profile) runs when ACME_DOMAINS is set: the environment's, else
# the env file's, as Compose reads it.
ACME_ON   = $(strip $(or $(ACME_DOMAINS),$(shell sed -n 's/^ACME_DOMAINS=//p' $(ENV_FILE) 2>/dev/null | tail -n 1)))
COMPOSE   = docker compose --env-file $(ENV_FILE)$(if $(ACME_ON), --profile acme)
# The test rig (tests/compose.yml) merged over the production file, for `make test` only.
TEST_FILES := -f docker-compose.yml -f tests/compose.yml
# Every rig and profile, for the targets that remove containers: a one-off container of a rig's
# service (`compose run`, as wrk's is) is removed only by a down that knows the service.
ALL_RIGS := $(TEST_FILES) -f bench/compose.yml --profile test --profile bench --profile acme --profile monitoring
VENV     := .venv
# The user `make smoke` signs in as; created (or its password reset) on each run.
SMOKE_USER ?= smoke
# `make test` brings up its own stack under this name, beside any stack you run.
comma := ,
TEST_PROJECT ?= $(shell basename "$(CURDIR)" | tr -cd 'a-z0-9_-')-test

.PHONY: swarm-up swarm-smoke swarm-down test-swarm lint-swarm lint-k8s
.PHONY: contract acme-wait acme-renew deploy test-faults backup backups backup-verify restore restore-undo restore-drop backup-dir
.PHONY: help up dev startapp pytest down clean certs migrate makemigrations collectstatic smoke test bench logs ps shell createsuperuser \
	lint lint-cleanup lint-python lint-types lint-docker lint-shell lint-compose lint-migrations lint-nginx lint-workflows lint-monitoring \
	format lock outdated audit

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(ENV_FILE):
	@$(PYTHON) scripts/init_env.py $(ENV_FILE)

# The version the web image is built as (the git revision, plus a hash of uncommitted changes):
# computed once per make run, exported so every compose build sees the same one.
ifndef APP_VERSION
APP_VERSION := $(shell $(PYTHON) scripts/version.py 2>/dev/null || echo unknown)
endif
export APP_VERSION

# Where `make certs` writes the self-signed pair (the defaults of TLS_CERT_FILE / TLS_KEY_FILE).
CERT_DIR := certs

# The compose files make up starts; make dev adds its overlay here.
UP_FILES ?=

up: $(ENV_FILE) ## Build and start the stack, wait until every service is healthy, print the URL
	@$(PYTHON) scripts/init_env.py $(ENV_FILE)
	@$(PYTHON) scripts/check_owner.py "$$($(COMPOSE) config --format json | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["name"])')"
	@$(PYTHON) scripts/check_port.py $(ENV_FILE) "$$($(COMPOSE) ps -q --status running nginx 2>/dev/null || true)"
	@$(MAKE) backup-dir
	@# ACME turned off: its service is not in the profile any more, and up would leave it running.
	@if [ -z "$(ACME_ON)" ] && [ -n "$$($(COMPOSE) --profile acme ps -q acme 2>/dev/null)" ]; then \
		$(COMPOSE) --profile acme rm --stop --force acme >/dev/null 2>&1; \
		echo "ACME_DOMAINS is empty: the acme service is removed (its volume and certificates are kept)."; fi
	@now() { date +%s.%N; }; started=$$(now); \
	$(COMPOSE) $(UP_FILES) build --quiet; built=$$(now); \
	renewed=; if [ -z "$$(sed -n 's/^TLS_CERT_FILE=//p' $(ENV_FILE))" ] && $(PYTHON) scripts/cert_due.py $(CERT_DIR)/local.crt; then \
		rm -f $(CERT_DIR)/local.crt $(CERT_DIR)/local.key; renewed=1; fi; \
	$(MAKE) $(CERT_DIR)/local.crt; \
	if ! $(COMPOSE) $(UP_FILES) up --detach --no-build --remove-orphans --wait --wait-timeout 300; then \
		echo; echo "error: the stack did not become healthy. Status and recent logs:" >&2; \
		$(COMPOSE) ps --all >&2; $(COMPOSE) logs --no-color --tail 25 >&2; exit 1; \
	fi; \
	if [ -n "$$renewed" ]; then $(COMPOSE) exec -T nginx nginx -s reload 2>/dev/null || true; fi; \
	$(PYTHON) scripts/up_times.py $(ENV_FILE) "$$started" "$$built" "$$(now)"
	@$(if $(ACME_ON),$(MAKE) acme-wait ENV_FILE=$(ENV_FILE))
	@echo "The stack is up: https://$$($(COMPOSE) port nginx 443 | sed 's/^0\.0\.0\.0:/127.0.0.1:/')/api/health/"
	@if [ -n "$$($(COMPOSE) --profile monitoring ps -q --status running prometheus 2>/dev/null)" ]; then \
		echo "Prometheus (the monitoring profile): http://$$($(COMPOSE) --profile monitoring port prometheus 9090)/targets"; fi

dev: ## The same stack with app/ bind-mounted, Gunicorn reloading on change and DEBUG on
	@$(MAKE) up UP_FILES="-f docker-compose.yml -f compose.dev.yml"
	@echo "Development mode: edits under app/ reload Gunicorn's workers (make logs shows it); make up returns to the production stack, make down stops it."

# With ACME_DOMAINS set: the acme service's first outcome (it tries at start), then Nginx moved to
# the certificate at once rather than at its watcher's next look. A failure leaves the stack up on
# the self-signed certificate, with the reason; the service retries on its own, backing off.
ACME_AGENT = $(COMPOSE) exec -T acme /opt/certbot/bin/python /acme/agent.py
acme-wait:
	@echo "Waiting for the certificate for $(ACME_ON) (the acme service)..."
	@$(ACME_AGENT) wait --timeout 330 || { echo "The stack is up, serving the previous (or self-signed) certificate; the acme service retries by itself (make logs). Fix the cause, then make acme-renew." >&2; exit 1; }
	@$(COMPOSE) exec -T nginx /docker-entrypoint.d/43-tls.sh check

acme-renew: ## Ask the acme service for an attempt now, and wait for it (FORCE=1: renew even if not due)
	@test -n "$(ACME_ON)" || { echo "error: ACME is off: set ACME_DOMAINS (and ACME_EMAIL) in $(ENV_FILE), then make up" >&2; exit 1; }
	@$(ACME_AGENT) renew $(if $(FORCE),--force)
	@$(COMPOSE) exec -T nginx /docker-entrypoint.d/43-tls.sh check

certs: $(CERT_DIR)/local.crt ## Create a self-signed certificate for localhost in certs/ (once; make up runs it)

# openssl runs in the web image (built first if missing); any env file names that image (.env.example
# before `make up`). `docker run`, not `compose run`: that would create the project's network and
# database volume just for this.
CERT_COMPOSE = docker compose --env-file $(firstword $(wildcard $(ENV_FILE)) .env.example)
$(CERT_DIR)/local.crt:
	@mkdir -p $(CERT_DIR) && chmod 700 $(CERT_DIR)
	@image=$$($(CERT_COMPOSE) config --format json | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["services"]["web"]["image"])'); \
	docker image inspect "$$image" >/dev/null 2>&1 || $(CERT_COMPOSE) build --quiet web; \
	docker run --rm --user "$$(id -u):$$(id -g)" --volume "$(CURDIR)/$(CERT_DIR):/certs" --entrypoint openssl "$$image" \
		req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 365 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout /certs/local.key -out /certs/local.crt
	@# Readable inside the container by Nginx's master (root without DAC_OVERRIDE); the 0700
	@# folder keeps other users of this machine out.
	@chmod 644 $(CERT_DIR)/local.key
	@echo "$(CERT_DIR)/local.crt created: a self-signed certificate for localhost and 127.0.0.1 (365 days; make up renews it 30 days before it expires)."

# With the rigs, so it also removes what an interrupted `make bench` or test run left (baselines,
# wrk's container).
down: ## Stop and remove the containers (the database volume is kept)
	@$(COMPOSE) $(ALL_RIGS) down --remove-orphans

clean: ## Stop the stack and DELETE its database volume (all data)
	@$(COMPOSE) $(ALL_RIGS) down --remove-orphans --volumes

migrate: ## Apply database migrations (the one-shot migrate job)
	@$(COMPOSE) run --rm migrate

makemigrations: ## Write new migrations for model changes into app/ (runs in the web image, as you)
	@$(COMPOSE) run --rm --no-deps --user "$$(id -u):$$(id -g)" --volume "$(CURDIR)/app:/app" \
		migrate python manage.py makemigrations

# The new app's code goes into app/ and its tests into tests/app/, written as you, from the
# template in scripts/app_template/ (Django's startapp --template, with the model's name added).
startapp: $(ENV_FILE) $(VENV)/.installed ## Add an owner-scoped resource: make startapp NAME=bookmarks [MODEL=Bookmark]
	@test -n "$(NAME)" || { echo "usage: make startapp NAME=bookmarks [MODEL=Bookmark]" >&2; exit 2; }
	@$(COMPOSE) run --rm --no-deps --user "$$(id -u):$$(id -g)" --volume "$(CURDIR)/app:/app" \
		--volume "$(CURDIR)/tests:/tests" --volume "$(CURDIR)/scripts/app_template:/app_template:ro" \
		migrate python manage.py startresource $(NAME) $(if $(MODEL),--model $(MODEL)) \
		--template /app_template --tests-dir /tests/app
	@# Imports sorted and code formatted as make lint wants them (their order depends on the name).
	@$(VENV)/bin/ruff check --quiet --select I --fix app/$(NAME) tests/app/$(NAME)
	@$(VENV)/bin/ruff format --quiet app/$(NAME) tests/app/$(NAME)
	@$(MAKE) makemigrations
	@echo "Next: make up (under make dev: make migrate), then /api/$(NAME)/; its tests: tests/app/$(NAME)/."

collectstatic: ## Collect static files again: they are baked into the web and Nginx images, so rebuild both
	@$(COMPOSE) up --detach --build --wait web nginx

smoke: ## Check the running stack from outside, through Nginx (health, tokens, /api/me/)
	@pw=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(24))'); \
	printf '%s\n' "$$pw" | $(COMPOSE) exec -T web python manage.py ensure_user $(SMOKE_USER) >/dev/null \
		|| { echo "error: cannot reach the web service; is the stack up (make up)?" >&2; exit 1; }; \
	url=$$($(COMPOSE) port nginx 443 | sed 's/^0\.0\.0\.0:/127.0.0.1:/'); \
	SMOKE_PASSWORD="$$pw" $(PYTHON) scripts/smoke.py --base-url "https://$$url" --cacert $(CERT_DIR)/local.crt --username $(SMOKE_USER)

# The API contract (tests/contract/schemathesis.toml): every check and phase of schemathesis,
# through Nginx, signed in as the `contract` user (created or reset here). It writes: accounts,
# notes and reset requests with generated addresses, so run it on a test or development stack;
# it refuses a stack whose mail goes to a real server unless CONTRACT_SENDS_MAIL=1 (make test's
# goes to its test server). A fixed seed in CI (the same cases each run), a new one by hand
# (printed at the end; CONTRACT_SEED=N repeats it).
CONTRACT_SEED ?= $(if $(CI),20261204,)
CONTRACT_EXAMPLES ?= 25
# A hard bound on the whole run, in seconds (schemathesis' own --max-time would fill it).
CONTRACT_TIMEOUT ?= 900
contract: $(VENV)/.installed ## Hold the running stack to its OpenAPI schema with schemathesis (writes test data)
	@mail=$$(sed -n 's/^EMAIL_URL=//p' $(ENV_FILE) 2>/dev/null | tail -n 1); \
	case "$$mail" in ""|console:*) ;; *) test -n "$(CONTRACT_SENDS_MAIL)" || { \
		echo "error: EMAIL_URL in $(ENV_FILE) is a mail server: make contract asks for reset mails to generated addresses." >&2; \
		echo "       Run it on a stack with EMAIL_URL=console: (or CONTRACT_SENDS_MAIL=1 if that server is a test one)." >&2; exit 1; } ;; esac
	@pw=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(24))'); \
	printf '%s\n' "$$pw" | $(COMPOSE) exec -T web python manage.py ensure_user contract >/dev/null \
		|| { echo "error: cannot reach the web service; is the stack up (make up)?" >&2; exit 1; }; \
	url=$$($(COMPOSE) port nginx 443 | sed 's/^0\.0\.0\.0:/127.0.0.1:/'); \
	echo "== schemathesis: all checks, all phases, $(CONTRACT_EXAMPLES) examples per operation, $(if $(CONTRACT_SEED),seed $(CONTRACT_SEED),a random seed)"; \
	CONTRACT_USERNAME=contract CONTRACT_PASSWORD="$$pw" timeout $(CONTRACT_TIMEOUT) $(VENV)/bin/schemathesis --no-color \
		--config-file tests/contract/schemathesis.toml run "https://$$url/api/schema/" \
		--tls-verify $(CERT_DIR)/local.crt --checks all --phases examples,coverage,fuzzing,stateful \
		--max-examples $(CONTRACT_EXAMPLES) $(if $(CONTRACT_SEED),--seed $(CONTRACT_SEED))

# `make test` runs on a throwaway stack of its own (project name, free ports, env file), so a
# stack you are running is never touched, and removes it, volumes included, when it ends.
# Its sign-ins all come from one address, so Django's per-address throttle (tested in process)
# is lifted there, and so is the per-user write throttle (also tested in process): the contract
# run writes at full speed as one user. Nginx's rate limit stays as shipped, tested end to end.
# A throwaway stack of its own (project TEST_PROJECT, free loopback ports, its own env file $$env),
# for $(1); removed with its volumes when $(1) ends, also on failure.
define with_test_stack
	@tmp=$$(mktemp -d); env="$$tmp/test.env"; \
	free_port='import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; \
	port=$$($(PYTHON) -c "$$free_port"); tls_port=$$($(PYTHON) -c "$$free_port"); \
	$(PYTHON) scripts/init_env.py --set COMPOSE_PROJECT_NAME=$(TEST_PROJECT) \
		--set HTTP_PORT=$$port --set HTTPS_PORT=$$tls_port \
		--set AUTH_THROTTLE_RATE=100000/min --set WRITE_THROTTLE_RATE=100000/min --set BACKUP_DIR=$$tmp/backups --set BACKUP_START_DELAY=86400 \
		--set EMAIL_URL=smtp://mail:1025 --set PASSWORD_RESET_TIMEOUT=$(TEST_RESET_TIMEOUT) $$env >/dev/null; \
	trap 'docker compose --env-file '"$$env"' $(ALL_RIGS) down --volumes --remove-orphans >/dev/null 2>&1; rm -rf '"$$tmp" EXIT; \
	echo "== starting a test stack on 127.0.0.1:$$port (HTTP) and :$$tls_port (HTTPS)"; \
	$(MAKE) up ENV_FILE=$$env; \
	$(1)
endef
# The test mail server (tests/mail/catcher.py), which the test stack's EMAIL_URL names. Started
# by whoever needs it (make up removes it, as an orphan of the production file).
MAIL_UP = docker compose --env-file $$env $(TEST_FILES) --profile test up --detach --wait --quiet-build mail
# Reset and confirmation links of the test stack expire this soon, so the e2e tests can see one
# expire; long enough for a flow through Nginx and the mail server on a loaded machine.
TEST_RESET_TIMEOUT := 20

test: $(VENV)/.installed ## Run every test: in-process tests against PostgreSQL, end to end through Nginx (the fault suite included), the API contract, the Swarm suite
	$(call with_test_stack, \
	echo "== in-process tests (pytest-django$(comma) PostgreSQL)"; \
	docker compose --env-file $$env $(TEST_FILES) run --rm --build tests; \
	echo "== smoke checks (make smoke)"; \
	$(MAKE) smoke ENV_FILE=$$env; \
	echo "== end-to-end tests through Nginx"; \
	E2E_ENV_FILE=$$env $(VENV)/bin/pytest tests/e2e tests/scripts tests/bench tests/repo; \
	echo "== the API contract (make contract: schemathesis through Nginx)"; \
	$(MAIL_UP); \
	$(MAKE) contract ENV_FILE=$$env CONTRACT_SENDS_MAIL=1)
	@echo "== the Swarm suite (make test-swarm)"
	@$(MAKE) test-swarm

test-faults: $(VENV)/.installed ## Only the fault suite (deploys, crashes, outages under load), on a throwaway stack; prints its table
	$(call with_test_stack, \
	echo "== fault scenarios under load"; \
	E2E_ENV_FILE=$$env $(VENV)/bin/pytest tests/e2e/test_faults.py)

# Builds, migrates, starts the new web containers beside the old, moves Nginx to them once healthy,
# lets the old ones finish, removes them; rolls back by itself before the switch (scripts/deploy.py).
deploy: $(ENV_FILE) ## Replace the running web containers with a new build, failing no request (NO_BUILD=1: the image already tagged)
	@$(PYTHON) scripts/check_owner.py "$$($(COMPOSE) config --format json | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["name"])')"
	@$(PYTHON) scripts/deploy.py $(if $(NO_BUILD),--no-build) -- $(COMPOSE)

# ---- Docker Swarm (swarm/stack.yml, scripts/swarm.py; docs/operations.md#docker-swarm) ----------
# The stack is named after the compose project (COMPOSE_PROJECT_NAME, else this folder's name).
STACK = $$($(COMPOSE) config --format json | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["name"])')
STACK_HTTPS_PORT = $$(sed -n 's/^HTTPS_PORT=//p' $(ENV_FILE) | tail -n 1)
swarm-up: $(ENV_FILE) $(CERT_DIR)/local.crt ## Deploy the stack on Docker Swarm (a single-node swarm is created if there is none)
	@$(PYTHON) scripts/init_env.py $(ENV_FILE)
	@$(PYTHON) scripts/swarm.py up --stack "$(STACK)" --env-file $(ENV_FILE) --cacert $(CERT_DIR)/local.crt

swarm-smoke: ## Check the Swarm stack from outside, through Nginx (as make smoke does)
	@pw=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(24))'); \
	task=$$(docker ps -q --filter "label=com.docker.swarm.service.name=$(STACK)_web" | head -n 1); \
	test -n "$$task" || { echo "error: no web task of the stack $(STACK) runs on this node; is it up (make swarm-up)?" >&2; exit 1; }; \
	printf '%s\n' "$$pw" | docker exec -i "$$task" python manage.py ensure_user $(SMOKE_USER) >/dev/null; \
	port=$(STACK_HTTPS_PORT); \
	SMOKE_PASSWORD="$$pw" $(PYTHON) scripts/smoke.py --base-url "https://127.0.0.1:$${port:-8443}" --cacert $(CERT_DIR)/local.crt --username $(SMOKE_USER)

swarm-down: ## Remove the Swarm stack (VOLUMES=1: its database too); leave the swarm if swarm-up created it
	@$(PYTHON) scripts/swarm.py down --stack "$(STACK)" $(if $(VOLUMES),--volumes)

# The Swarm suite (tests/swarm/) on a throwaway stack and, if the engine is in none, a throwaway
# swarm. Leaving a swarm breaks name resolution in containers already running on this engine, so
# make test runs it after its compose stack is gone.
test-swarm: $(VENV)/.installed ## Only the Swarm suite: deploy, scale, rolling update and rollback under load, db restart
	@$(VENV)/bin/pytest -s tests/swarm  # -s: the suite prints its figures (requests, failures)

# ---- Backups (db/backup.sh; docs/operations.md) ---------------------------------------------
# BACKUP_DIR as Compose sees it: the environment's, else the env file's, else ./backups.
BACKUP_DIR_NOW = $${BACKUP_DIR:-$$(sed -n 's/^BACKUP_DIR=//p' $(ENV_FILE) 2>/dev/null | tail -n 1)}
# Created here, as you and private (a dump holds every password hash), before a bind mount would
# create it as root.
backup-dir:
	@dir=$(BACKUP_DIR_NOW); dir=$${dir:-./backups}; \
	if [ ! -d "$$dir" ]; then mkdir -p "$$dir" && chmod 700 "$$dir"; fi

backup: $(ENV_FILE) backup-dir ## Take a backup now, verify it in a scratch cluster, keep it (backups/), apply the retention
	@$(COMPOSE) run --rm --no-deps -T backup backup

backups: $(ENV_FILE) backup-dir ## List the backups, the newest one's age, and the databases a restore kept
	@$(COMPOSE) run --rm --no-deps -T restore status
	@$(COMPOSE) run --rm --no-deps -T restore list

# The file's own folder is mounted read-only, so a backup fetched from elsewhere restores as well.
RESTORE_RUN = dir=$$(cd "$$(dirname "$(BACKUP)")" && pwd); file=/restore/$$(basename "$(BACKUP)"); \
	run() { $(COMPOSE) run --rm --no-deps -T --volume "$$dir:/restore:ro" restore "$$@"; }

backup-verify: $(ENV_FILE) ## Check a backup again (checksum, manifest, scratch restore): make backup-verify BACKUP=backups/<file>.dump
	@test -n "$(BACKUP)" || { echo "usage: make backup-verify BACKUP=backups/app-<stamp>.dump" >&2; exit 2; }
	@test -f "$(BACKUP)" || { echo "error: $(BACKUP): no such file" >&2; exit 1; }
	@$(RESTORE_RUN); $(COMPOSE) run --rm --no-deps -T --volume "$$dir:/restore:ro" backup verify "$$file"

# Checked, restored into a new database and verified while the app keeps serving; only the swap
# (a rename, seconds) happens with the app stopped. The previous database is kept, named in the output.
restore: $(ENV_FILE) ## Restore a backup: make restore BACKUP=backups/<file>.dump [CONFIRM=yes]
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/app-<stamp>.dump [CONFIRM=yes]" >&2; exit 2; }
	@test -f "$(BACKUP)" || { echo "error: $(BACKUP): no such file" >&2; exit 1; }
	@$(RESTORE_RUN); stamp=$$(date -u +%Y%m%dT%H%M%SZ); \
	run restore-check "$$file"; \
	$(call confirm,Replace the live database with this backup? The current one is kept.); \
	run restore-prepare "$$file" "$$stamp"; \
	$(call swapped_in,restore-swap "$$stamp")
	@echo "Restored $(BACKUP). Undo it with the command above; make backups lists what is kept."

restore-undo: $(ENV_FILE) ## Bring back the database a restore kept: make restore-undo PREVIOUS=app_previous_<stamp> [CONFIRM=yes]
	@test -n "$(PREVIOUS)" || { echo "usage: make restore-undo PREVIOUS=app_previous_<stamp> (make backups lists them)" >&2; exit 2; }
	@run() { $(COMPOSE) run --rm --no-deps -T restore "$$@"; }; stamp=$$(date -u +%Y%m%dT%H%M%SZ); \
	$(call confirm,Make $(PREVIOUS) the live database again? The current one is kept.); \
	$(call swapped_in,undo "$(PREVIOUS)" "$$stamp")

restore-drop: $(ENV_FILE) ## Delete a database a restore kept, for good: make restore-drop DATABASE=app_previous_<stamp>
	@test -n "$(DATABASE)" || { echo "usage: make restore-drop DATABASE=app_previous_<stamp> (make backups lists them)" >&2; exit 2; }
	@$(call confirm,Delete database $(DATABASE) for good?); \
	$(COMPOSE) run --rm --no-deps -T restore drop "$(DATABASE)"

# Asks unless CONFIRM=yes; without a terminal to ask on, refuses.
confirm = if [ "$(CONFIRM)" != yes ]; then \
	  if [ -t 0 ]; then read -r -p "$(1) Type yes: " answer; [ "$$answer" = yes ] || { echo "Cancelled; nothing was changed." >&2; exit 1; }; \
	  else echo "error: not confirmed: run it in a terminal, or add CONFIRM=yes" >&2; exit 1; fi; fi

# Stop what connects to the database, run the swap, start everything again (db-roles grants the
# runtime role its rows, migrate applies what the backup lacks), even when the swap fails.
swapped_in = $(COMPOSE) stop web scheduler backup; \
	trap '$(COMPOSE) up --detach --no-build --wait --wait-timeout 300 >/dev/null 2>&1 || echo "error: the stack did not come back up; make up" >&2' EXIT; \
	run $(1); \
	echo "Starting the app again..."; \
	$(COMPOSE) up --detach --no-build --wait --wait-timeout 300 2>/dev/null; trap - EXIT

# The fast inner loop: the in-process tests, or some of them, against the running stack's
# PostgreSQL (pytest-django makes and drops a test database of its own), with app/ and tests/
# mounted, so an edit needs no rebuild.
ARGS ?= tests/app
pytest: ## In-process tests against the running stack's database: make pytest ARGS="tests/app/notes -x"
	@$(COMPOSE) $(TEST_FILES) run --rm --build --volume "$(CURDIR)/app:/app:ro" --volume "$(CURDIR)/tests:/src/tests:ro" \
		tests pytest $(ARGS)

bench: ## Load the running stack with wrk (on its front network), against baselines, with bars (bench-results/)
	@$(PYTHON) -m bench --env-file $(ENV_FILE)

# The host's tools (pytest for the e2e tests, the linters), installed from the locks.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-k8s.txt
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install your system's venv package (Debian/Ubuntu: python3-venv)." >&2; exit 1; }
	@echo "Installing the development tools into $(VENV) (from the locks)..."
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.txt -r requirements-dev.txt -r requirements-k8s.txt
	@touch $@

logs: ## Follow the logs of every service
	@$(COMPOSE) logs --follow --tail 100

ps: ## Show the services and their health
	@$(COMPOSE) ps --all

shell: ## Open a Django shell in the web container
	@$(COMPOSE) exec web python manage.py shell

createsuperuser: ## Create an admin user (interactive)
	@$(COMPOSE) exec web python manage.py createsuperuser

# ---- Code quality ---------------------------------------------------------------------------
# Settings refuse to load without secrets; the linters that import them get throwaway values.
LINT_ENV := SECRET_KEY=lint-only-not-a-secret JWT_SIGNING_KEY=lint-only-not-a-secret-lint-only-not-a-secret \
	DATABASE_URL=postgres://lint@localhost/lint EMAIL_URL=console:
SHELL_SCRIPTS := .ci/run db/entrypoint.sh db/setup-roles.sh db/backup.sh nginx/entrypoint.d/40-server-names.sh nginx/entrypoint.d/41-admin-access.sh nginx/entrypoint.d/42-upstream.sh \
	nginx/entrypoint.d/43-tls.sh

lint: lint-python lint-types lint-docker lint-shell lint-compose lint-swarm lint-k8s lint-workflows lint-migrations lint-nginx lint-monitoring ## Run every check CI runs (each step says what failed)
	@$(MAKE) lint-cleanup
	@echo "lint: all checks passed"

# Remove the networks lint's one-off containers left, unless a stack of the same project is running:
# that is `make test`'s, started beside this lint, and down would take its containers away.
# Its volume too: `docker compose run` creates every volume of the project, and with no container
# of the project left, nothing else uses it.
lint-cleanup:
	@if [ -z "$$($(COMPOSE_LINT) $(ALL_RIGS) ps --all --quiet 2>/dev/null)" ]; then \
		$(COMPOSE_LINT) $(ALL_RIGS) down --remove-orphans --volumes >/dev/null 2>&1; fi

lint-python: $(VENV)/.installed
	@echo "== ruff: lint and format check"
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

lint-types: $(VENV)/.installed
	@echo "== mypy (strict, django-stubs + djangorestframework-stubs)"
	@$(LINT_ENV) $(VENV)/bin/mypy

DOCKERFILES := Dockerfile tests/Dockerfile tests/tlsscan.Dockerfile bench/Dockerfile

lint-docker: $(VENV)/.installed
	@echo "== hadolint: $(DOCKERFILES)"
	@$(VENV)/bin/hadolint $(DOCKERFILES)

lint-shell: $(VENV)/.installed
	@echo "== shellcheck: $(SHELL_SCRIPTS)"
	@$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)

# The stack file as `docker stack deploy` reads it (no swarm needed), with placeholders for what
# make swarm-up sets; tests/repo/test_swarm_stack.py keeps it in step with docker-compose.yml.
STACK_LINT_ENV = $(foreach v,WEB_IMAGE MIGRATE_IMAGE NGINX_IMAGE SECRET_SECRET_KEY SECRET_JWT_SIGNING_KEY SECRET_POSTGRES_PASSWORD \
	SECRET_DATABASE_PASSWORD SECRET_DATABASE_OWNER_PASSWORD SECRET_EMAIL_URL SECRET_TLS_KEY CONFIG_DB_ENTRYPOINT \
	CONFIG_DB_SETUP_ROLES CONFIG_TLS_CERT,STACK_$(v)=lint) STACK_APP_ENV_FILE=/dev/null
lint-swarm:
	@echo "== docker stack config: swarm/stack.yml"
	@env $(STACK_LINT_ENV) docker stack config -c swarm/stack.yml >/dev/null

# The Kubernetes overlays (kubernetes/; docs/operations.md#kubernetes), offline: rendered by kubectl's
# kustomize, validated strictly against K8S_VERSION's schemas, then the policy test on the result.
K8S_VERSION ?= 1.33.0
lint-k8s: $(VENV)/.installed
	@echo "== kubectl kustomize + kubernetes-validate --strict ($(K8S_VERSION)): kubernetes/overlays/*"
	@rendered=$$(mktemp); trap 'rm -f "$$rendered"' EXIT; \
	for overlay in kubernetes/overlays/*/; do \
		$(VENV)/bin/kubectl kustomize "$$overlay" > "$$rendered" || { echo "error: $$overlay does not render (above)" >&2; exit 1; }; \
		$(VENV)/bin/kubernetes-validate --strict --quiet -k $(K8S_VERSION) "$$rendered" || { echo "error: $$overlay is not valid for Kubernetes $(K8S_VERSION) (above)" >&2; exit 1; }; \
	done
	@$(VENV)/bin/pytest -q -p no:cacheprovider tests/repo/test_kubernetes.py

lint-compose:
	@echo "== docker compose config: docker-compose.yml, alone and with tests/compose.yml, bench/compose.yml"
	@$(COMPOSE_LINT) --profile acme --profile monitoring config --quiet
	@$(COMPOSE_LINT) $(TEST_FILES) -f bench/compose.yml config --quiet

lint-workflows: $(VENV)/.installed
	@echo "== check-jsonschema: .github/workflows and dependabot.yml"
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

lint-migrations:
	@echo "== makemigrations --check: every model change has its migration"
	@$(COMPOSE_LINT) run --rm --no-deps -e SECRET_KEY=x -e JWT_SIGNING_KEY=lint-only-not-a-secret-lint-only -e EMAIL_URL=console: \
		migrate python manage.py makemigrations --check --dry-run
	@echo "== django-migration-linter: no migration breaks the version still serving during make deploy"
	@export POSTGRES_PASSWORD=lint-only-not-a-secret DATABASE_PASSWORD=lint-only-not-a-secret \
		DATABASE_OWNER_PASSWORD=lint-only-not-a-secret; \
	$(COMPOSE_LINT) $(TEST_FILES) build --quiet web tests >/dev/null 2>&1 || $(COMPOSE_LINT) $(TEST_FILES) build web tests; \
	$(COMPOSE_LINT) $(TEST_FILES) up --detach --wait --quiet-pull db >/dev/null 2>&1; \
	rc=0; $(COMPOSE_LINT) $(TEST_FILES) run --rm --no-deps -e SECRET_KEY=x -e JWT_SIGNING_KEY=lint-only-not-a-secret-lint-only -e EMAIL_URL=console: \
		tests python tests/lint_migrations.py 2>&1 | grep -v '"logger": "django_migration_linter"' || rc=$$?; \
	$(COMPOSE_LINT) $(TEST_FILES) down --volumes --remove-orphans >/dev/null 2>&1; exit $$rc

lint-nginx: $(CERT_DIR)/local.crt
	@echo "== nginx -t: the Nginx configuration, rendered as at start"
	@$(COMPOSE_LINT) build nginx >/dev/null
	@$(COMPOSE_LINT) run --rm --no-deps nginx nginx -t

# Prometheus' own checker, from the image the monitoring profile runs: the configuration, the rules,
# and the rules' unit tests (monitoring/rules.test.yml: every alert on synthetic series).
PROMTOOL = docker run --rm --user "$$(id -u):$$(id -g)" --entrypoint promtool -v "$(CURDIR)/monitoring:/etc/prometheus:ro" \
	-w /etc/prometheus $${PROMETHEUS_IMAGE:-prom/prometheus:v3.5.0}
lint-monitoring:
	@echo "== promtool: monitoring/prometheus.yml, rules.yml and the rules' unit tests"
	@$(PROMTOOL) check config --syntax-only prometheus.yml >/dev/null
	@$(PROMTOOL) check rules rules.yml >/dev/null
	@$(PROMTOOL) test rules rules.test.yml

# Lint without touching your .env or your stack: .env.example's values, the test project's images.
COMPOSE_LINT := COMPOSE_PROJECT_NAME=$(TEST_PROJECT) docker compose --env-file .env.example

format: $(VENV)/.installed ## Fix what can be fixed: ruff's lint fixes and formatting
	@$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

lock: ## Re-resolve requirements*.in into the hash-pinned locks (in the Python image, with pip-tools)
	@docker run --rm --user "$$(id -u):$$(id -g)" -e HOME=/tmp -v "$(CURDIR):/src" -w /src \
		$${PYTHON_IMAGE:-python:3.13-slim} sh -c 'python -m venv /tmp/v && /tmp/v/bin/pip install -q pip-tools \
		&& for f in requirements requirements-dev requirements-k8s requirements-tlsscan requirements-acme; do /tmp/v/bin/pip-compile --quiet --generate-hashes \
		--allow-unsafe --strip-extras --no-header --no-emit-index-url --no-emit-find-links --upgrade \
		-o $$f.txt $$f.in; done'
	@echo "requirements.txt, requirements-dev.txt, requirements-k8s.txt, requirements-tlsscan.txt and requirements-acme.txt updated; review the diff, then make test."

outdated: $(VENV)/.installed ## List locked packages that have newer releases
	@$(VENV)/bin/pip list --outdated --disable-pip-version-check

audit: $(VENV)/.installed ## Check the locked packages against known vulnerabilities (pip-audit)
	@$(VENV)/bin/pip-audit --disable-pip --no-deps -r requirements.txt -r requirements-dev.txt -r requirements-k8s.txt -r requirements-acme.txt
