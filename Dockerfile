# syntax=docker/dockerfile:1
# One image for every Firewatch process (ingest workers, API replicas, migrate, broker sync);
# the command picks the process. Build from the repository root: docker build -t firewatch .
ARG PYTHON=python:3.11.11-slim-bookworm

# -- build: a virtual environment with the project and its dependencies, no compilers kept --
FROM ${PYTHON} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/firewatch/.venv
COPY pyproject.toml README.md ./
COPY contract ./contract
COPY settings ./settings
COPY alerts ./alerts
COPY store ./store
COPY registry ./registry
COPY ingest ./ingest
COPY dispatch ./dispatch
COPY gateways ./gateways
COPY api ./api
COPY simulators ./simulators
COPY firewatch ./firewatch
RUN /opt/firewatch/.venv/bin/pip install --no-compile . \
    && /opt/firewatch/.venv/bin/python -m compileall -q /opt/firewatch/.venv

# -- runtime: the venv and a non-root user; health checks are per process (compose.yaml) -----
FROM ${PYTHON} AS runtime
RUN groupadd --system --gid 10001 firewatch \
    && useradd --system --uid 10001 --gid firewatch --home-dir /opt/firewatch \
       --shell /usr/sbin/nologin firewatch \
    && install -d -o firewatch -g 1883 -m 0755 /etc/mosquitto/firewatch
# ^ where `firewatch broker sync` writes the broker's files (a volume in compose.yaml), group
#   1883 being the eclipse-mosquitto image's, which reads them (mode 0640).
COPY --from=build /opt/firewatch/.venv /opt/firewatch/.venv
ENV PATH=/opt/firewatch/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FIREWATCH_API_HOST=0.0.0.0
WORKDIR /opt/firewatch
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["firewatch"]
CMD ["api"]
