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
# ignores them). With none there, this changes nothing; a certificate that cannot be installed
# stops the build (rather than pip failing later for a reason nobody sees).
COPY docker/extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# A run started inside the stack (`make loadtest-compose`) keeps its own Prometheus, as natively.
COPY --from=prometheus /bin/prometheus /usr/local/bin/prometheus

RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin loadlab \
 && python3 -m venv /opt/venv

# Dependencies first, and only from requirements.hashes.txt: the project's runtime dependencies (not
# the dev tools) and all they pull in, at requirements.lock's versions, each wheel checked against
# its sha256 (--require-hashes; scripts/hash_lock.py regenerates the file from the lock). --no-deps:
# the file is the whole tree, Apache Otava included without its own (why: requirements.lock).
# This layer survives code changes.
COPY requirements.hashes.txt /tmp/
RUN pip install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements.hashes.txt

# The project itself is not built by pip (a build would fetch setuptools, unhashed): its folder goes
# on the venv's path, and `loadlab` is the console script pyproject.toml declares.
WORKDIR /app
COPY . /app
RUN echo /app > "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/loadlab.pth" \
 && printf '#!/opt/venv/bin/python\nimport sys\n\nfrom loadlab.cli import main\n\nsys.exit(main())\n' \
      > /opt/venv/bin/loadlab \
 && chmod 755 /opt/venv/bin/loadlab \
 && mkdir -p /app/results /sd \
 && chown loadlab /app/results \
 && chmod 1777 /sd

USER loadlab
EXPOSE 8000 8010 8089 9646
CMD ["loadlab", "--help"]
