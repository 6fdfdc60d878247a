# The loadlab image: targets, upstream, Locust (master and workers) and the `loadlab` CLI, one image for
# every service of docker-compose.yml that runs project code. Built from the repository root.
#
# Base images are build arguments so that a machine without a registry can build from local stand-ins
# (see tests/compose/); the defaults are the pinned public images.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG PROMETHEUS_IMAGE=prom/prometheus:v2.42.0

FROM ${PROMETHEUS_IMAGE} AS prometheus

FROM ${PYTHON_IMAGE}

# Behind a TLS-inspecting proxy, pip needs its CA: put the *.crt files in docker/extra-ca/ (git
# ignores them). With none there, this changes nothing.
COPY docker/extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null 2>&1 || true
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# A run started inside the stack (`make loadtest-compose`) keeps its own Prometheus, as natively.
COPY --from=prometheus /bin/prometheus /usr/local/bin/prometheus

RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin loadlab \
 && python3 -m venv /opt/venv

# Dependencies first: the project's runtime dependencies (not the dev tools), every transitive
# version pinned by the lock file, then Apache Otava without its dependencies (why: requirements.lock).
# This layer survives code changes.
COPY pyproject.toml requirements.lock /tmp/
RUN python3 -c "import tomllib; print(*tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > /tmp/requirements.txt \
 && pip install --no-cache-dir -c /tmp/requirements.lock -r /tmp/requirements.txt \
 && pip install --no-cache-dir --no-deps -c /tmp/requirements.lock apache-otava

WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir --no-deps -e . \
 && mkdir -p /app/results /sd \
 && chown loadlab /app/results \
 && chmod 1777 /sd

USER loadlab
EXPOSE 8000 8010 8089 9646
CMD ["loadlab", "--help"]
