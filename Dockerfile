# pytest-lwa's standalone server as a container for CI services: `pytest-lwa serve` on 0.0.0.0:8080,
# configured by LWA_* environment variables (docs/serve.md, "In CI"), arguments optional.
#
#   docker build -t pytest-lwa .
#   docker run --rm -p 8080:8080 pytest-lwa
#
# BASE is any image with python3 (3.11 or later) and its venv module: the official slim image by default.
ARG BASE=python:3.12-slim

FROM ${BASE}
# pip's package index, for a build that must install from another one (none is needed by default)
ARG PIP_INDEX_URL
COPY . /tmp/pytest-lwa
RUN python3 -m venv /opt/pytest-lwa \
    && /opt/pytest-lwa/bin/python -m pip install --no-cache-dir --disable-pip-version-check --quiet \
        "/tmp/pytest-lwa[tls]" \
    && rm -rf /tmp/pytest-lwa \
    && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin lwa \
    && install -d -o 10001 -g 10001 /trust
# /trust: a folder the server may write its authority's PEM to (LWA_CA_FILE), for a volume other containers read
ENV PATH=/opt/pytest-lwa/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LWA_HOST=0.0.0.0 \
    LWA_PORT=8080 \
    LWA_READY_FILE=/tmp/pytest-lwa-ready.json
USER 10001:10001
EXPOSE 8080
# Healthy once the server has written its ready file and answers /_lwa/health (which needs no admin token)
# at the address and port it serves, whichever way they were given.
HEALTHCHECK --interval=2s --timeout=2s --start-period=10s --retries=3 CMD ["python3", "-c", "\
import json, os, ssl, urllib.parse as p, urllib.request as r; \
ready = json.load(open(os.environ['LWA_READY_FILE'])); url = p.urlsplit(ready['url']); \
host = '127.0.0.1' if url.hostname in ('0.0.0.0', '::') else url.netloc.rpartition(':')[0]; \
context = ssl.create_default_context(cafile=ready['ca_bundle']) if ready['ca_bundle'] else None; \
r.urlopen(f'{url.scheme}://{host}:{url.port}/_lwa/health', timeout=2, context=context)"]
ENTRYPOINT ["pytest-lwa"]
CMD ["serve"]
