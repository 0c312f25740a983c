# testssl.sh and sslyze (Mozilla's TLS profiles), for the TLS tests in `make test` only.
ARG PYTHON_IMAGE=python:3.13-slim
FROM ${PYTHON_IMAGE}
# Unpinned on purpose: the version available differs by Debian release (the base image decides),
# and this image only ever tests; it ships nowhere.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends testssl.sh \
 && rm -rf /var/lib/apt/lists/*
# sslyze, locked with hashes like every dependency (make lock), in a venv of its own.
COPY requirements-tlsscan.txt /tmp/requirements-tlsscan.txt
RUN python -m venv /opt/sslyze \
 && /opt/sslyze/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements-tlsscan.txt
USER 10001:10001
ENTRYPOINT ["testssl"]
