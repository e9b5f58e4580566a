"""Settings, read from the environment so that one code base runs everywhere.

Unset variables give the embedded defaults: SQLite and the in-process channel
layer. See README.md ("Configuration") for the list.
"""

import os
import warnings
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" are yes)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback key is for development only; `check --deploy` flags it.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-development-key-change-me-in-production"
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# The HTTP API answers a failed check with its error body, as every refusal.
CSRF_FAILURE_VIEW = "api.views.csrf_failure"

# Served over HTTPS (in production, usually with TLS ending in a proxy that sets
# X-Forwarded-Proto): redirect http, secure cookies, HSTS, and only https pages may
# open a WebSocket.
HTTPS = env_bool("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
CHAT_REQUIRE_HTTPS_ORIGIN = HTTPS
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, read with one prepared statement (every socket reads one).
SESSION_ENGINE = "chat.session_store"
# No inline script anywhere: every script is a file of this site. Inline style
# attributes are allowed (Django's admin uses them); they cannot run code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "chat",
    "notifications",
    "ops",
    "api",
    # django-ninja: the templates and static files of the API's page (/api/docs/).
    "ninja",
]

MIDDLEWARE = [
    # First: probes answer whatever the host, scheme or session (ops/middleware.py).
    "ops.middleware.health_middleware",
    # Counts the site's responses by status (chat_http_requests), the probes left out.
    "ops.middleware.request_metrics_middleware",
    "django.middleware.security.SecurityMiddleware",
    "myproject.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # `Authorization: Bearer <token>` on /api/ and /files/ (api/middleware.py).
    "api.middleware.bearer_token_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "myproject.urls"
# The room list and the sidebar show every room of the user's, and at most this many
# public rooms they are not in (the most recently active); the directory has them all.
CHAT_ROOM_LIST_OTHERS_MAX = int(os.environ.get("CHAT_ROOM_LIST_OTHERS_MAX", "30"))

# `manage.py test`: Django's runner, without the INFO line of every socket in its output.
TEST_RUNNER = "myproject.test_runner.QuietSocketsRunner"
WSGI_APPLICATION = None
ASGI_APPLICATION = "myproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (PostgreSQL in production), else a local SQLite file.
SQLITE_PATH = BASE_DIR / "db.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        # An empty DATABASE_URL means unset, not an error.
        os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        # Only with the pool off (DATABASE_POOL=0, below): 0 opens a connection per
        # request and per socket call.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A server process talks to SQLite from several threads: write transactions
    # take the lock up front (no upgrade deadlocks) and WAL lets readers run.
    # Connections are kept: opening one costs more than most queries, and closing the
    # last one checkpoints the WAL.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Live-server tests serve from another process: the test database must be a file.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("DJANGO_TEST_DB", str(BASE_DIR / "test_db.sqlite3"))
    }
else:
    # Named outright: a live-server test process would otherwise prefix it a second time.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}"}
# PostgreSQL: Django's connection pool (psycopg_pool), one per process, shared by all its
# threads. Under ASGI each HTTP request runs on a thread of its own and the sockets' work
# on another, and Django closes a thread's connection after each request and each
# database_sync_to_async call: without a pool every one of those opens a new connection
# (CONN_MAX_AGE 0), and with persistent ones (CONN_MAX_AGE > 0) a connection is left
# behind with each thread that ends. With the pool, "closing" hands the connection back.
DATABASE_POOL = env_bool("DATABASE_POOL", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL:
    # Django's backend, whose check of a pooled connection as it is handed out drains
    # the pool once the server has restarted (myproject/postgresql/base.py): the check
    # is the backend's, not Django's.
    DATABASES["default"]["ENGINE"] = "myproject.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    # Django refuses a pool with persistent connections: the pool keeps them instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        # Kept open while idle (the sockets' thread, and an HTTP request or a probe).
        "min_size": int(os.environ.get("DATABASE_POOL_MIN", "2")),
        # Never more: a burst of threads waits for a connection rather than opening one.
        # Room for the sockets' thread and a burst of requests, some of them waiting on a
        # row lock with their connection held.
        "max_size": int(os.environ.get("DATABASE_POOL_MAX", "20")),
        # How long a thread waits for one before its query fails; also how long a query
        # waits while the database is down, so short: one thread serves every socket.
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "2")),
        # Connections above min_size close after this long unused, one at a time.
        "max_idle": 60.0,
        # While the database is down the pool retries with a backoff that doubles; giving
        # up after a few seconds and starting over on the next query keeps it retrying
        # about every second or two, so it is back soon after the database is.
        "reconnect_timeout": 5.0,
        "name": "chat",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when configured, carries the channel layer and the shared cache
# (rate limits, presence): every server process must see the same state.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Each of a process's Redis pools (the channel layer's, presence's, the cache's) opens at
# most this many connections and keeps them; a command that finds them all busy waits up
# to REDIS_POOL_TIMEOUT seconds for one (chat/redis_pools.py).
REDIS_MAX_CONNECTIONS = int(os.environ.get("REDIS_MAX_CONNECTIONS", "20"))
REDIS_POOL_TIMEOUT = float(os.environ.get("REDIS_POOL_TIMEOUT", "5"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.redis_pools.BoundedRedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": REDIS_MAX_CONNECTIONS,
                        "timeout": REDIS_POOL_TIMEOUT,
                        "client_name": "chat-layer",
                        "health_check_interval": 30,
                        "socket_keepalive": True,
                        "retry_on_timeout": True,
                        # Above the layer's 5 s blocking pop: redis-py 8 defaults to a
                        # 5 s read timeout, which would abort an idle receive.
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                    }
                ],
                "capacity": 1000,
                "expiry": 60,
                # Each process's hub re-joins its groups every CHAT_HUB_RESUBSCRIBE
                # seconds: a live hub never silently falls out of one.
                "group_expiry": 86400 * 2,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "chat.redis_pools.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chat",
            "OPTIONS": {
                # One client for the whole process (SharedRedisCache), bounded like the
                # others.
                "pool_class": "redis.BlockingConnectionPool",
                "max_connections": REDIS_MAX_CONNECTIONS,
                "timeout": REDIS_POOL_TIMEOUT,
                "client_name": "chat-cache",
                # Bounded, so that a Redis that stopped answering fails a request, not
                # hangs it.
                "socket_connect_timeout": 5,
                "socket_timeout": 5,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.realtime.layers.LocalChannelLayer",
            "CONFIG": {"capacity": 1000, "expiry": 60},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How long /readyz waits for each dependency (database, channel layer, cache), in seconds.
OPS_READY_TIMEOUT = float(os.environ.get("OPS_READY_TIMEOUT", "2"))
# Who may read /metrics (docs/operations.md, "Metrics"): addresses or networks, or the
# bearer of the token (empty: no token is accepted).
OPS_METRICS_ALLOW = env_list("OPS_METRICS_ALLOW", "127.0.0.1,::1")
OPS_METRICS_TOKEN = os.environ.get("OPS_METRICS_TOKEN", "")
# The staff dashboard (docs/operations.md, "Staff dashboard"), in seconds: how often an
# open dashboard gets a new snapshot, and how often each process publishes its heartbeat
# (a process silent for three heartbeats leaves the list).
OPS_DASHBOARD_INTERVAL = float(os.environ.get("OPS_DASHBOARD_INTERVAL", "2"))
OPS_HEARTBEAT_INTERVAL = float(os.environ.get("OPS_HEARTBEAT_INTERVAL", "5"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:room_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "myproject.storage.StaticStorage"},
}
# Serve straight from the source folders when collectstatic has not run (tests, dev),
# and then do not warn that STATIC_ROOT is missing.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
WHITENOISE_MANIFEST_STRICT = False

# Chat limits (PROTOCOL.md, "Limits"): each one a setting.
CHAT_BODY_MAX = int(os.environ.get("CHAT_BODY_MAX", "4000"))
CHAT_FRAME_MAX = int(os.environ.get("CHAT_FRAME_MAX", "16384"))
CHAT_RATE_MESSAGES = int(os.environ.get("CHAT_RATE_MESSAGES", "10"))
CHAT_RATE_PERIOD = float(os.environ.get("CHAT_RATE_PERIOD", "10"))
# Joining and leaving rooms, per user (joining a public room, following an invite link,
# accepting an invitation, leaving): CHAT_RATE_JOINS per CHAT_RATE_JOINS_PERIOD seconds.
CHAT_RATE_JOINS = int(os.environ.get("CHAT_RATE_JOINS", "20"))
CHAT_RATE_JOINS_PERIOD = float(os.environ.get("CHAT_RATE_JOINS_PERIOD", "60"))
CHAT_TYPING_INTERVAL = float(os.environ.get("CHAT_TYPING_INTERVAL", "2"))
CHAT_MAX_SOCKETS_PER_USER = int(os.environ.get("CHAT_MAX_SOCKETS_PER_USER", "30"))
CHAT_BAD_FRAMES_MAX = int(os.environ.get("CHAT_BAD_FRAMES_MAX", "20"))
CHAT_BAD_FRAMES_WINDOW = float(os.environ.get("CHAT_BAD_FRAMES_WINDOW", "60"))
# Bytes a socket may leave unsent (its client not reading) before it is dropped with 4408.
CHAT_SOCKET_OUTPUT_MAX = int(os.environ.get("CHAT_SOCKET_OUTPUT_MAX", "1048576"))
# Presence across processes: a socket's entry lives CHAT_PRESENCE_TTL seconds unless its
# process refreshes it every CHAT_PRESENCE_HEARTBEAT; expired entries are swept (and
# their users announced offline) every CHAT_PRESENCE_SWEEP.
CHAT_PRESENCE_TTL = float(os.environ.get("CHAT_PRESENCE_TTL", "60"))
CHAT_PRESENCE_HEARTBEAT = float(os.environ.get("CHAT_PRESENCE_HEARTBEAT", "20"))
CHAT_PRESENCE_SWEEP = float(os.environ.get("CHAT_PRESENCE_SWEEP", "15"))
# Each process re-joins the channel-layer groups of its rooms this often (seconds): it
# keeps memberships from expiring and restores them after Redis lost them.
CHAT_HUB_RESUBSCRIBE = float(os.environ.get("CHAT_HUB_RESUBSCRIBE", "20"))
# Open sockets re-check their login every CHAT_SESSION_CHECK_INTERVAL seconds, and
# CHAT_SESSION_NUDGE_DELAY after the site logs a user out or changes their password.
CHAT_SESSION_CHECK_INTERVAL = float(os.environ.get("CHAT_SESSION_CHECK_INTERVAL", "60"))
CHAT_SESSION_NUDGE_DELAY = float(os.environ.get("CHAT_SESSION_NUDGE_DELAY", "2"))
# A socket's allowance of sync and history requests: a burst, then a steady rate.
CHAT_SOCKET_REQUEST_BURST = int(os.environ.get("CHAT_SOCKET_REQUEST_BURST", "20"))
CHAT_SOCKET_REQUESTS_PER_SECOND = float(os.environ.get("CHAT_SOCKET_REQUESTS_PER_SECOND", "20"))
# The largest frame the server sends: `sync` and `history` pages are cut short to fit.
# The server's --max-message-size (docs/operations.md) is kept at least this, so that a
# client sized to the server's limit takes every frame (daphne's limit binds what it sends).
CHAT_SEND_FRAME_MAX = int(os.environ.get("CHAT_SEND_FRAME_MAX", "60000"))
# @room and @here: allowed to moderators, or to anyone in a room of at most this many.
CHAT_MENTION_ALL_MAX_MEMBERS = int(os.environ.get("CHAT_MENTION_ALL_MAX_MEMBERS", "50"))
CHAT_PAGE_SIZE = 50
CHAT_SYNC_BATCH = 200

# Attachments (chat/services/attachments.py; docs/protocol.md, "Attachments"). Files are
# kept through Django's storage API (STORAGES["default"]): the file system under
# MEDIA_ROOT unless the deployment names another store. They are never served from
# MEDIA_URL: only through the view that checks who may read the room.
MEDIA_ROOT = os.environ.get("MEDIA_ROOT") or str(BASE_DIR / "var" / "media")
CHAT_UPLOAD_MAX_BYTES = int(os.environ.get("CHAT_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
# The MIME types people may share, by the file's name (an image's content must agree:
# Pillow reads it). Only image/png, image/jpeg, image/gif and image/webp are ever shown
# in the page; any other type, SVG included if it is added here, is only downloaded.
CHAT_UPLOAD_TYPES = os.environ.get(
    "CHAT_UPLOAD_TYPES",
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/markdown,"
    "text/csv,application/json,application/zip,application/gzip,audio/mpeg,audio/ogg,"
    "video/mp4,video/webm,application/vnd.oasis.opendocument.text,"
    "application/vnd.oasis.opendocument.spreadsheet,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
).split(",")
CHAT_ATTACHMENTS_MAX = int(os.environ.get("CHAT_ATTACHMENTS_MAX", "10"))
# Larger pictures are refused rather than decoded (a small file can unpack to gigabytes).
CHAT_UPLOAD_IMAGE_PIXELS_MAX = int(os.environ.get("CHAT_UPLOAD_IMAGE_PIXELS_MAX", "50000000"))
CHAT_THUMBNAIL_SIZE = int(os.environ.get("CHAT_THUMBNAIL_SIZE", "400"))
# Uploads per user and period (s), and how many may wait unsent at once; an upload never
# sent is deleted after CHAT_UPLOAD_PENDING_HOURS.
CHAT_RATE_UPLOADS = int(os.environ.get("CHAT_RATE_UPLOADS", "30"))
CHAT_RATE_UPLOADS_PERIOD = float(os.environ.get("CHAT_RATE_UPLOADS_PERIOD", "600"))
CHAT_UPLOADS_PENDING_MAX = int(os.environ.get("CHAT_UPLOADS_PENDING_MAX", "20"))
CHAT_UPLOAD_PENDING_HOURS = float(os.environ.get("CHAT_UPLOAD_PENDING_HOURS", "24"))

# Account safety (chat/services/account_safety.py; docs/operations.md, "Accounts and
# e-mail"). Sign-in is refused for ACCOUNT_LOGIN_LOCK_PERIOD seconds from the first failure
# once an account, or a client address, has this many failures in it.
ACCOUNT_LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("ACCOUNT_LOGIN_FAILURES_PER_ACCOUNT", "5"))
ACCOUNT_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("ACCOUNT_LOGIN_FAILURES_PER_ADDRESS", "20"))
ACCOUNT_LOGIN_LOCK_PERIOD = float(os.environ.get("ACCOUNT_LOGIN_LOCK_PERIOD", "900"))
# Accounts created, and password-reset mails asked for, per client address and period (s).
ACCOUNT_SIGNUPS_PER_ADDRESS = int(os.environ.get("ACCOUNT_SIGNUPS_PER_ADDRESS", "5"))
ACCOUNT_SIGNUPS_PERIOD = float(os.environ.get("ACCOUNT_SIGNUPS_PERIOD", "3600"))
ACCOUNT_RESETS_PER_ADDRESS = int(os.environ.get("ACCOUNT_RESETS_PER_ADDRESS", "5"))
ACCOUNT_RESETS_PERIOD = float(os.environ.get("ACCOUNT_RESETS_PERIOD", "3600"))
# Rooms a user (not staff) may create per CHAT_RATE_ROOMS_PERIOD seconds.
CHAT_RATE_ROOMS = int(os.environ.get("CHAT_RATE_ROOMS", "10"))
CHAT_RATE_ROOMS_PERIOD = float(os.environ.get("CHAT_RATE_ROOMS_PERIOD", "3600"))
# Personal API tokens (api/; docs/protocol.md, "Tokens"): how many that still sign in
# one person may hold, and how many they may make per API_TOKEN_CREATES_PERIOD seconds.
API_TOKENS_PER_USER = int(os.environ.get("API_TOKENS_PER_USER", "20"))
API_TOKEN_CREATES = int(os.environ.get("API_TOKEN_CREATES", "10"))
API_TOKEN_CREATES_PERIOD = float(os.environ.get("API_TOKEN_CREATES_PERIOD", "3600"))
# Password-reset mail: SMTP from the environment; printed to the console when DEBUG is on
# (EMAIL_BACKEND, if set, wins). A bounded timeout: a stuck SMTP server must not hold a
# request for ever.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# LOG_FORMAT=json: one JSON object per line (ops/logs.py), for a log collector.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "chat": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
