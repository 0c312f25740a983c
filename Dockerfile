# Base images from the environment, so a registry mirror or a local stand-in works unchanged.
# (ARGs used in FROM lines must come before the first FROM.)
# Only what ships: the test and benchmark images have Dockerfiles of their own (tests/, bench/).
ARG PYTHON_IMAGE=python:3.13-slim
ARG NGINX_IMAGE=nginx:1.30

# ---- builder: resolve and install dependencies into a virtualenv --------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# A virtualenv without pip of its own: the base image's pip installs into it (--python), which
# saves creating one (5 s) and copying it into the runtime stage (~3 s), and ships no pip.
RUN python -m venv --without-pip /opt/venv
# The lock first: this layer is rebuilt only when it changes, not on every code edit. Every
# package is pinned with its hashes, so two builds a month apart install the same bytes.
COPY requirements.txt /tmp/requirements.txt
RUN pip --python /opt/venv/bin/python install --require-hashes --no-deps -r /tmp/requirements.txt

# ---- runtime: the web image -----------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    STATIC_ROOT=/opt/static \
    PORT=8000
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY app/ /app/
# Static files are collected at build time so the image is complete on its own; the variables
# exist for this one command only (settings require them) and are not kept in the image.
RUN SECRET_KEY=collectstatic-only JWT_SIGNING_KEY=collectstatic-only-collectstatic-only \
    DATABASE_URL=postgres://build@localhost/build EMAIL_URL=console: \
    python manage.py collectstatic --noinput --verbosity 0 \
 && python -m compileall -q /app /opt/venv
# Last, so a new version rebuilds only this layer (make passes scripts/version.py's answer).
ARG APP_VERSION=unknown
ENV APP_VERSION=${APP_VERSION}
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["python", "/app/config/healthcheck.py"]
# Exec form: Gunicorn is PID 1 and receives Docker's SIGTERM itself, for a graceful stop.
CMD ["gunicorn", "--config", "/app/config/gunicorn.py", "config.wsgi:application"]

# ---- nginx: the proxy image, with the static files of this very build ----------------------
FROM ${NGINX_IMAGE} AS nginx
# The DNS server Nginx looks the app up in at request time: Docker's (Kubernetes sets its own).
ENV NGINX_RESOLVER=127.0.0.11
# The image's entrypoint renders templates/ into conf.d/ and runs entrypoint.d/ at start.
RUN rm -f /etc/nginx/conf.d/default.conf
COPY nginx/nginx.conf nginx/proxy.conf /etc/nginx/
COPY nginx/templates/ /etc/nginx/templates/
COPY nginx/entrypoint.d/ /docker-entrypoint.d/
COPY nginx/errors/ /srv/_errors/
COPY --from=runtime /opt/static /srv/static
# Mount points of the acme service's volumes (the challenge webroot, the certificate), owned as
# in the acme stage below: whichever container first mounts a new volume gives it its owner.
RUN install -d -o 10002 -g 10002 -m 0755 /srv/acme \
 && install -d -o 10002 -g 0 -m 0750 /etc/nginx/acme
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/nginx-health"]

# ---- acme: the ACME client (certbot), only when ACME_DOMAINS is set (docs/operations.md) -----
# Last in the file: the classic builder builds every stage before its target, so building web
# or nginx never builds this one.
FROM ${PYTHON_IMAGE} AS acme-builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv --without-pip /opt/certbot
COPY requirements-acme.txt /tmp/requirements-acme.txt
RUN pip --python /opt/certbot/bin/python install --require-hashes --no-deps -r /tmp/requirements-acme.txt

FROM ${PYTHON_IMAGE} AS acme
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=acme-builder /opt/certbot /opt/certbot
COPY acme/agent.py /acme/agent.py
# The volumes' mount points, owned as the volumes must be: Docker gives a new named volume the
# owner and mode of the folder it is first mounted on, and Nginx's image has the same folders
# (nginx stage above), so either container may create them. The certificate's folder is 0750 with
# group root: Nginx's master (root, without DAC_OVERRIDE) reads it, its workers and others not.
RUN groupadd --system --gid 10002 acme \
 && useradd --system --uid 10002 --gid acme --home-dir /var/lib/acme --no-create-home --shell /usr/sbin/nologin acme \
 && install -d -o 10002 -g 10002 -m 0700 /var/lib/acme \
 && install -d -o 10002 -g 10002 -m 0755 /var/lib/acme-webroot \
 && install -d -o 10002 -g 0 -m 0750 /var/lib/acme-tls \
 && python -m compileall -q /acme /opt/certbot
USER 10002:10002
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["sh", "-c", "test -n \"$(find /tmp/acme-heartbeat -mmin -2 2>/dev/null)\""]
CMD ["/opt/certbot/bin/python", "/acme/agent.py", "run"]
