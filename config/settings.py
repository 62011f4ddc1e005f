"""Switchyard settings: every knob is an environment variable read through django-environ."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.request_log import request_log_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("SWITCHYARD_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _local_secret_key() -> str:
    """A per-checkout secret kept in var/ so local sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "accounts",
    "routing",
    "playground",
    "costcalc",
    "batch",
    "usage",
    "modelpages",
]

MIDDLEWARE = [
    "routing.doors.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ResolvedUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the usage writer thread write while requests read.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests share the database between the test thread, the live server and the usage writer:
    # a file in WAL mode lets readers and the writer overlap (in-memory SQLite locks tables).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)

# Shared state (limits, budgets, the response cache, cooldowns, the config version) goes
# through routing/guards/state.py, on Redis when set; nothing uses Django's cache framework,
# so CACHES is left at Django's default.
REDIS_URL = env.str("REDIS_URL", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
# The tools' own sign-in page (accounts/): any active user, not only staff.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/playground/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's default, adopted now

# Largest accepted request body (the API answers 413 above it).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=4 * 1024 * 1024)

# --- Switchyard ---------------------------------------------------------------------------
# Where this server can reach itself: the built-in simulator provider is served at
# {SELF_URL}/sim/v1 and called over real HTTP like any other provider.
SWITCHYARD_SELF_URL = env.str(
    "SWITCHYARD_SELF_URL",
    default=f"http://{env.str('HOST', default='127.0.0.1')}:{env.int('PORT', default=8000)}",
)
# What the gateway sends its own simulator (outside DEBUG the simulator answers no one else);
# derived from SECRET_KEY, so every worker of one deployment shares it.
SWITCHYARD_INTERNAL_TOKEN = (
    env.str("SWITCHYARD_INTERNAL_TOKEN", default="")
    or hmac.new(SECRET_KEY.encode(), b"switchyard-internal-token", hashlib.sha256).hexdigest()
)
SWITCHYARD_CONNECT_TIMEOUT = env.float("SWITCHYARD_CONNECT_TIMEOUT", default=5.0)
SWITCHYARD_REQUEST_TIMEOUT = env.float("SWITCHYARD_REQUEST_TIMEOUT", default=120.0)
# Upstream connections per provider origin and worker; requests beyond it wait for one.
SWITCHYARD_UPSTREAM_MAX_CONNECTIONS = env.int("SWITCHYARD_UPSTREAM_MAX_CONNECTIONS", default=1000)
# Extra CA certificates (PEM) trusted for upstream TLS, e.g. a private CA of a self-hosted model.
SWITCHYARD_UPSTREAM_CA_FILE = env.str("SWITCHYARD_UPSTREAM_CA_FILE", default="")
# Which upstream HTTP client serves routing/transport/upstream.py's contract: "fast" (the
# gateway's own, asyncio + httptools) or "httpx". Their names: upstream.IMPLEMENTATIONS.
SWITCHYARD_UPSTREAM_CLIENT = env.str("SWITCHYARD_UPSTREAM_CLIENT", default="fast")
if SWITCHYARD_UPSTREAM_CLIENT not in ("fast", "httpx"):
    raise ImproperlyConfigured(
        f"SWITCHYARD_UPSTREAM_CLIENT={SWITCHYARD_UPSTREAM_CLIENT!r}: use 'fast' or 'httpx'."
    )
SWITCHYARD_FIRST_TOKEN_TIMEOUT = env.float("SWITCHYARD_FIRST_TOKEN_TIMEOUT", default=30.0)
# Attempts with a fallback after them: factor x the model's measured time to first token,
# within [floor, SWITCHYARD_FIRST_TOKEN_TIMEOUT]; unmeasured, the fallback timeout
# (routing/engine/deadlines.py). Routes can set their own.
SWITCHYARD_FALLBACK_FIRST_TOKEN_TIMEOUT = env.float(
    "SWITCHYARD_FALLBACK_FIRST_TOKEN_TIMEOUT", default=3.0
)
SWITCHYARD_FIRST_TOKEN_FACTOR = env.float("SWITCHYARD_FIRST_TOKEN_FACTOR", default=4.0)
SWITCHYARD_FIRST_TOKEN_FLOOR = env.float("SWITCHYARD_FIRST_TOKEN_FLOOR", default=2.0)
SWITCHYARD_FIRST_TOKEN_MIN_SAMPLES = env.int("SWITCHYARD_FIRST_TOKEN_MIN_SAMPLES", default=3)
SWITCHYARD_STALL_TIMEOUT = env.float("SWITCHYARD_STALL_TIMEOUT", default=30.0)
SWITCHYARD_TOTAL_DEADLINE = env.float("SWITCHYARD_TOTAL_DEADLINE", default=300.0)
# A budgeted key's request is sent with the max_tokens its remaining budget pays for: at most
# this many when the client gives no max_tokens, and refused (429) below the minimal answer.
SWITCHYARD_BUDGET_MAX_TOKENS = env.int("SWITCHYARD_BUDGET_MAX_TOKENS", default=4096)
SWITCHYARD_BUDGET_MIN_TOKENS = env.int("SWITCHYARD_BUDGET_MIN_TOKENS", default=16)
SWITCHYARD_MAX_RETRIES = env.int("SWITCHYARD_MAX_RETRIES", default=1)
SWITCHYARD_MAX_RETRY_AFTER = env.float("SWITCHYARD_MAX_RETRY_AFTER", default=10.0)
SWITCHYARD_COOLDOWN_SECONDS = env.float("SWITCHYARD_COOLDOWN_SECONDS", default=30.0)
SWITCHYARD_COOLDOWN_FAILURES = env.int("SWITCHYARD_COOLDOWN_FAILURES", default=3)
# Pace of the built-in simulator (tokens per second); tests speed it up.
SWITCHYARD_SIM_TOKENS_PER_SECOND = env.float("SWITCHYARD_SIM_TOKENS_PER_SECOND", default=40.0)
SWITCHYARD_SIM_FIRST_TOKEN_SECONDS = env.float("SWITCHYARD_SIM_FIRST_TOKEN_SECONDS", default=0.25)
# The complexity router's cost-vs-quality curves the cost calculator charts; `evaluate_router`
# writes this file by default.
SWITCHYARD_ROUTER_CURVES = Path(
    env.str(
        "SWITCHYARD_ROUTER_CURVES", default=str(BASE_DIR / "routing" / "complexity" / "curves.json")
    )
)
# The learned complexity artefact the router loads ("" = the one shipped in routing/complexity/).
SWITCHYARD_COMPLEXITY_MODEL = env.str("SWITCHYARD_COMPLEXITY_MODEL", default="")
# Response cache TTL for direct model requests (routes set their own); 0 = off.
SWITCHYARD_CACHE_TTL = env.int("SWITCHYARD_CACHE_TTL", default=0)
# Embeddings are deterministic: identical input is answered from the cache for this long
# (direct model requests; routes set their own TTL); 0 = off.
SWITCHYARD_EMBEDDINGS_CACHE_TTL = env.int("SWITCHYARD_EMBEDDINGS_CACHE_TTL", default=86400)
# Files API (/v1/files, purpose=batch): the largest upload accepted.
SWITCHYARD_FILE_MAX_BYTES = env.int("SWITCHYARD_FILE_MAX_BYTES", default=100 * 1024 * 1024)
# Stored Responses API responses (/v1/responses, store=true) older than this are purged
# by `manage.py purge_responses`.
SWITCHYARD_RESPONSES_RETENTION_DAYS = env.int("SWITCHYARD_RESPONSES_RETENTION_DAYS", default=30)
SWITCHYARD_USAGE_FLUSH_SECONDS = env.float("SWITCHYARD_USAGE_FLUSH_SECONDS", default=0.2)
# The playground spends real money: outside local development it needs a login.
PLAYGROUND_REQUIRE_LOGIN = env.bool("PLAYGROUND_REQUIRE_LOGIN", default=not DEBUG)
PLAYGROUND_DAILY_SPEND_CAP_USD = env.float("PLAYGROUND_DAILY_SPEND_CAP_USD", default=5.0)

# /metrics is open by default (the embedded setup); a bearer token and/or allowed networks
# (CIDR, e.g. 10.0.0.0/8,127.0.0.1/32) restrict it: either is enough when both are set.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_exc}") from None

# Per-request JSON lines: stderr (default), `off`, or a file (`make run`: var/requests.log).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
_request_handlers, _request_logger = request_log_config(
    env.str("REQUEST_LOG", default=""), LOG_FORMAT
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "routing.transport.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {  # stderr; formatted and written in batches by a background thread
            "class": "routing.transport.logs.BackgroundStreamHandler",
            "formatter": LOG_FORMAT,
        },
        **_request_handlers,
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        **({"switchyard.requests": _request_logger} if _request_logger else {}),
    },
}
