# The web image: uvicorn on uvloop (myproject.serve, the production server) serving
# myproject.asgi, static files collected for whitenoise.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

# The application only (no virtualenv, database files or caches from the build context).
COPY manage.py ./
COPY myproject ./myproject
COPY chat ./chat
COPY notifications ./notifications
COPY ops ./ops
COPY api ./api
COPY templates ./templates
COPY static ./static

# Static files are collected at build time; the key is a stand-in, used for nothing else.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

# Attachments (MEDIA_ROOT): a volume shared by the web processes (docker-compose.yml).
ENV MEDIA_ROOT=/data/media
RUN useradd --system --no-create-home --uid 10001 chat \
    && mkdir -p /data/media && chown chat /data/media
USER chat

EXPOSE 8000
# Behind a proxy whose address is not known in advance (docker-compose.yml's nginx): the
# proxy headers are believed from any peer (docs/operations.md, "Throttling").
CMD ["python", "-m", "myproject.serve", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "--forwarded-allow-ips", "*"]
