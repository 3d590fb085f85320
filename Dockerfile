# triage's web page and HTTP API: docker build -t triage . && docker run --rm -p 8000:8000 triage
# Stateless: run as many containers as you like behind a load balancer.

FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install ".[web]"

FROM python:3.12-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin triage
COPY --from=build /opt/venv /opt/venv
USER triage
WORKDIR /home/triage
# Validate the KB and fill the start-up cache once at build time, so containers start fast.
RUN python -c "from triage.engine import Engine; from triage.load import default_cache_dir; Engine.build(cache_dir=default_cache_dir())"
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["triage", "serve", "--host", "0.0.0.0"]
