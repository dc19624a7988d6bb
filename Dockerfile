# The API and worker image; docker-compose.yml runs it as `turnflow api`, `turnflow worker` and `turnflow migrate`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Named one by one rather than `COPY . .`, so a local .venv or `turnflow dev` data dir never enters the image.
COPY pyproject.toml README.md worker.py ./
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
COPY models ./models
COPY turnlog ./turnlog
COPY migrations ./migrations
COPY turnflow ./turnflow
# bubblewrap isolates the agent's commands; without it the worker would run them unisolated.
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap && rm -rf /var/lib/apt/lists/* \
    && pip install . \
    && useradd --system --create-home --uid 10001 turnflow \
    && install -d -o turnflow /data

# Session workspaces live under the data dir; /app stays read-only to the service user.
ENV TURNFLOW_DATA_DIR=/data
USER turnflow
EXPOSE 8000
CMD ["turnflow", "api", "--host", "0.0.0.0", "--port", "8000"]
