# The GPU worker image: TensorFlow with CUDA, both models built once per process.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2 KERAS_HOME=/weights
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY shared shared
COPY worker worker
COPY web web
COPY migrations migrations
RUN pip install '.[gpu,postgres]' && useradd --uid 10001 twinlens && mkdir -p /data /weights \
    && chown twinlens /data /weights
USER twinlens
# One pool process per GPU: the models live in it, loaded after fork.
CMD ["celery", "-A", "worker.celery_app", "worker", "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO", "--hostname", "twinlens@%h"]
