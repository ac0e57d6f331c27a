# The web image: Flask + gunicorn, no TensorFlow (small, starts in a second).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY shared shared
COPY web web
COPY migrations migrations
RUN pip install '.[postgres]' && useradd --uid 10001 twinlens && mkdir -p /data && chown twinlens /data
USER twinlens
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--timeout", "600", "--keep-alive", "10", "--access-logfile", "-", "web:create_app()"]
