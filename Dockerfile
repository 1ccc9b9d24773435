# gymgate as a container: `docker build -t gymgate .`
#
# Nothing secret is baked in: no signing keys, no database, no admin token. Keys live in the
# /data/keys volume (a first key is made on the first start), the SQLite file in /data; set
# GYMGATE_DATABASE_URL to use Postgres instead (see docker-compose.yml). Any Debian-like
# image with python3 (>= 3.11) and its venv module can stand in for the base image:
# `--build-arg BASE_IMAGE=...` (scripts/image-test.sh builds on a local Debian one).
ARG BASE_IMAGE=python:3.11-slim

# ---- builder: the project's wheel and every dependency's wheel, nothing installed -------
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python3 -m venv /opt/build-venv
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/build-venv/bin/pip wheel --wheel-dir /wheels .
# web/ is not in git until it has pages; make sure the runtime stage has a folder to copy.
COPY . /context
RUN mkdir -p /context/web

# ---- runtime: a venv with the wheels, a non-root user, volumes for keys and data --------
FROM ${BASE_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    GYMGATE_KEYS_DIR=/data/keys \
    GYMGATE_DATABASE_URL=sqlite+aiosqlite:////data/gymgate.db \
    GYMGATE_WEB_DIR=/app/web

RUN groupadd --system --gid 10001 gymgate \
    && useradd --system --uid 10001 --gid gymgate --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin gymgate \
    && mkdir -p /app /data/keys \
    && chown gymgate:gymgate /data \
    && chown gymgate:gymgate /data/keys \
    && chmod 700 /data/keys

# The wheels are bind-mounted from the builder, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links=/wheels gymgate \
    && /opt/venv/bin/gymgate --version

COPY --from=builder /context/web /app/web

USER 10001:10001
WORKDIR /app
# Named volumes start with the ownership and mode of these folders in the image.
VOLUME ["/data", "/data/keys"]
EXPOSE 8000

# No curl in slim images: python's urllib; urlopen raises (exit 1) on anything but 2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

ENTRYPOINT ["gymgate"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
