# Guardian: the HTTP API and the pipeline worker in one image.
#   docker build -t guardian .
#   docker run -e GUARDIAN_SECRET_KEY=... -e GUARDIAN_DATABASE_URL=postgresql://... -p 8080:8080 guardian
# docker-compose.yml beside this file runs it with PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# PyTorch first, the CPU build from PyTorch's own index: it keeps the image small (an
# unpinned `torch` resolves to a CUDA build of several GB), and the harassment scoring
# that comes later needs it (to load Detoxify's checkpoints and export them to ONNX; ONNX
# Runtime, which scores by default, comes with the package's own dependencies).
# Installed before the package, so nothing pulls another torch.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# The package itself (a regular, non-editable install; the sources are not kept).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY guardian ./guardian
RUN pip install . && cd / && rm -rf /src

# A non-root user. /app/var is where a SQLite database would go (the default
# GUARDIAN_DATABASE_URL is sqlite:///var/guardian.db, relative to /app).
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home guardian \
    && mkdir -p /app/var \
    && chown guardian:guardian /app/var
WORKDIR /app
COPY policies /app/policies

ENV GUARDIAN_HOST=0.0.0.0 \
    GUARDIAN_PORT=8080 \
    GUARDIAN_POLICIES_DIR=/app/policies

USER 10001:10001
EXPOSE 8080

# No curl in the slim image: Python asks /health, which answers 503 (so urlopen raises and
# the check fails) when the database, migrations or policies are not right.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]

# `guardian serve` upgrades the database before it starts serving (--no-migrate skips that).
CMD ["guardian", "serve"]
