# One image for every Threadline process:
#   docker run IMAGE                           the gateway (python -m ingest), port 8000
#   docker run IMAGE python -m ingest create-topics
#   docker run IMAGE python -m consumers all   (or bookings, messages, statuses)
#
# Dependencies come from deploy/requirements.lock, so two builds of the same commit install
# the same versions. Pin the base image by digest (PYTHON_IMAGE=python:3.12-slim@sha256:...)
# when the build must not move with Debian's security updates either.

ARG PYTHON_IMAGE=python:3.12-slim

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

# The build backend is pinned as well: pyproject.toml only asks for setuptools>=75.
ARG SETUPTOOLS_VERSION=84.2.1

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

RUN python -m venv /opt/threadline

# Dependencies before the source: changing code does not reinstall them. Wheels only, so the
# slim image needs no compiler; --no-deps because the lock is complete, which `pip check`
# confirms below.
COPY deploy/requirements.lock /tmp/requirements.lock
RUN /opt/threadline/bin/pip install --only-binary=:all: --no-deps -r /tmp/requirements.lock

WORKDIR /src
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY matchers ./matchers
COPY clients ./clients
COPY domain ./domain
COPY ingest ./ingest
COPY consumers ./consumers
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install "setuptools==${SETUPTOOLS_VERSION}" \
    && /opt/build/bin/pip wheel --no-build-isolation --no-deps --wheel-dir /wheels . \
    && /opt/threadline/bin/pip install --no-deps /wheels/threadline-*.whl \
    && /opt/threadline/bin/pip check

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="threadline" \
      org.opencontainers.image.description="Messaging webhooks to Kafka to unified chat threads in MongoDB" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed, high uid, unlikely to be anyone's on the host, so files on volumes are not owned
# by a real user; the Kubernetes manifests name it (runAsUser, fsGroup).
RUN groupadd --system --gid 10001 threadline \
    && useradd --system --uid 10001 --gid threadline --no-create-home \
       --home-dir /var/lib/threadline --shell /usr/sbin/nologin threadline \
    && install --directory --owner=threadline --group=threadline --mode=0750 \
       /var/lib/threadline /var/lib/threadline/spool

COPY --from=builder /opt/threadline /opt/threadline

# Bytecode was compiled when the packages were installed; at run time the root filesystem
# may be read-only. The spool is where the gateway keeps webhooks Kafka could not take in
# time: mount a persistent volume there.
ENV PATH="/opt/threadline/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    THREADLINE_HTTP_HOST=0.0.0.0 \
    THREADLINE_HTTP_PORT=8000 \
    THREADLINE_SPOOL_DIR=/var/lib/threadline/spool \
    THREADLINE_TENANTS_FILE=/etc/threadline/tenants.toml

WORKDIR /var/lib/threadline
USER 10001:10001
EXPOSE 8000

# Liveness only: /health answers while the process serves HTTP, whatever Kafka and MongoDB
# do, so an outage of theirs does not get the gateway restarted (orchestrators probe /ready
# for traffic). Containers running the consumers should turn this check off.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('THREADLINE_HTTP_PORT', '8000') + '/health', timeout=4)"]

CMD ["python", "-m", "ingest"]
