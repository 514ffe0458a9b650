# One image for the API, the worker and the admin commands:
#   docker run IMAGE                         → API (python -m backend serve)
#   docker run IMAGE python -m backend worker
#   docker run IMAGE python -m backend roster import /data/roster.csv
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY backend ./backend
COPY bot ./bot
COPY miniprogram_api ./miniprogram_api
COPY intents ./intents
COPY config ./config
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app \
    && install -d -o app -g app -m 700 /var/lib/cs-audit-anchor
COPY --from=build /install /usr/local
WORKDIR /app
# The source (with its data files under config/) runs from /app, which comes first on sys.path.
COPY --chown=app:app backend ./backend
COPY --chown=app:app bot ./bot
COPY --chown=app:app miniprogram_api ./miniprogram_api
COPY --chown=app:app intents ./intents
COPY --chown=app:app config ./config
USER app
ENV CS_MODE=production CS_RUN_WORKER=false CS_VAR_DIR=/tmp/var PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["python", "-m", "backend", "serve", "--host", "0.0.0.0", "--port", "8000"]
