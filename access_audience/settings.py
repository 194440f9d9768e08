"""Settings for Access Audience: one module, driven by the environment.

Values come from real environment variables first, then from a `.env` file in the project root
(see `.env.example` for every variable). Nothing here differs between machines except through
those variables.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# Real environment variables win over .env (override=False). Tests switch the file off.
if os.environ.get("DJANGO_DOTENV", "1") != "0":
    load_dotenv(BASE_DIR / ".env", override=False)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = env(name)
    if not raw:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it in the environment or in .env "
            "(`make run` writes a .env with a generated key), or set DJANGO_DEBUG=true "
            "for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 (debug only)
# Former secret keys, still accepted for sessions and reset links while a new one takes over.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_htmx",
    "django_tasks_db",
    "access_audience",
    "history",
    "channels_app",
    "segments",
    "audiences",
    "campaigns",
    "integrations.klaviyo",
    "integrations.uploads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything reads a search or a filter from the query string.
    "access_audience.middleware.QueryStringControlCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Outermost of the htmx ones: every answer, a redirect or an error too, says it varies.
    "access_audience.middleware.VaryOnHtmxMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Outside LoginRequiredMiddleware so it can turn its redirect into a whole-page one for htmx.
    "access_audience.middleware.HtmxLoginRedirectMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Changes made by a request are recorded as its user's.
    "history.middleware.HistoryActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "access_audience.middleware.HtmxMessagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = env("DJANGO_ROOT_URLCONF", "access_audience.urls")
WSGI_APPLICATION = "access_audience.wsgi.application"
ASGI_APPLICATION = "access_audience.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "channels_app.context_processors.navigation",
            ],
        },
    },
]

# Database: SQLite file under data/ by default; PostgreSQL in production and CI via DATABASE_URL.
DATA_DIR = Path(env("DJANGO_DATA_DIR", str(BASE_DIR / "data")))
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE transactions take the
    # write lock up front so concurrent writers queue on busy_timeout instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA temp_store=MEMORY;"
            "PRAGMA cache_size=-64000;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": env("DJANGO_TEST_SQLITE_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# AxesStandaloneBackend first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files from `collectstatic` in production; plain files otherwise.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
# Serve static files from the finders when no collectstatic ran (development and tests).
WHITENOISE_USE_FINDERS = DEBUG or env_bool("DJANGO_WHITENOISE_USE_FINDERS", False)

# --- Security -------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    # The proxy terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# htmx sends the token from the page (hx-headers on <body>), so JavaScript never reads the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 60 * 60 * 12)
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "access_audience.views.csrf_failure"

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

# --- Login throttling (django-axes) ---------------------------------------------------------
# After AXES_FAILURE_LIMIT failed logins for the same username from the same IP address, that
# pair is locked out (app and admin login alike) for AXES_COOLOFF_MINUTES; every failed attempt
# during the lockout starts the wait again. `manage.py axes_reset` lifts every lockout.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "access_audience.throttling.login_locked_out"
# Behind N reverse proxies (LOGIN_PROXY_COUNT) the client's address is the Nth from the right
# in X-Forwarded-For (0: the connection's address, REMOTE_ADDR).
LOGIN_PROXY_COUNT = env_int("LOGIN_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "access_audience.throttling.client_ip_address"
# The username as recorded: control characters dropped and cut to the column's 255 characters.
AXES_USERNAME_CALLABLE = "access_audience.throttling.login_username"

# --- Email (password reset) ------------------------------------------------------------------
_email_backend = env(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {
    "default": {
        "BACKEND": _email_backend,
        "OPTIONS": (
            {
                "host": env("DJANGO_EMAIL_HOST", "localhost"),
                "port": env_int("DJANGO_EMAIL_PORT", 25),
                "username": env("DJANGO_EMAIL_HOST_USER"),
                "password": env("DJANGO_EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", False),
                "timeout": 20,
            }
            if _email_backend.endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", "Access Audience <noreply@localhost>")

# --- Background work -------------------------------------------------------------------------
# "database" (django-tasks-db, run `manage.py db_worker`) or "immediate" (runs in the request;
# tests use it unless they exercise the queue itself).
TASKS_BACKEND = env("DJANGO_TASKS_BACKEND", "database")
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
        }[TASKS_BACKEND],
        "QUEUES": ["default"],
    }
}

# --- Encryption at rest ----------------------------------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")

# --- Klaviyo ---------------------------------------------------------------------------------
KLAVIYO_API_URL = env("KLAVIYO_API_URL", "https://a.klaviyo.com").rstrip("/")
# A key in the environment takes precedence over the one saved in the app.
KLAVIYO_API_KEY = env("KLAVIYO_API_KEY")
# Where a synced segment or list links to in Klaviyo's web app; {id} is the Klaviyo id.
KLAVIYO_SEGMENT_URL_TEMPLATE = env(
    "KLAVIYO_SEGMENT_URL_TEMPLATE", "https://www.klaviyo.com/list/{id}/members"
)
KLAVIYO_LIST_URL_TEMPLATE = env(
    "KLAVIYO_LIST_URL_TEMPLATE", "https://www.klaviyo.com/list/{id}/members"
)
KLAVIYO_TIMEOUT = (
    float(env("KLAVIYO_CONNECT_TIMEOUT", "5")),
    float(env("KLAVIYO_READ_TIMEOUT", "30")),
)
# A run that has not reported progress for this long is taken to have died with its worker.
SYNC_STALE_AFTER_SECONDS = env_int("SYNC_STALE_AFTER_SECONDS", 15 * 60)

# --- CSV upload ------------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
UPLOAD_MAX_ROWS = env_int("UPLOAD_MAX_ROWS", 1_000_000)
# Columns a CSV upload may have: keeps the mapping step's page small.
UPLOAD_MAX_COLUMNS = env_int("UPLOAD_MAX_COLUMNS", 200)
# A check or import silent this long (no progress written) is taken to have died with its worker.
UPLOAD_STALE_AFTER_SECONDS = env_int("UPLOAD_STALE_AFTER_SECONDS", 15 * 60)
UPLOAD_DIR = DATA_DIR / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000
# Uploaded files stream to disk beside the uploads, refused as soon as they pass the size cap.
FILE_UPLOAD_HANDLERS = ["integrations.uploads.handlers.CappedUploadHandler"]

# --- History ---------------------------------------------------------------------------------
# Days of history `manage.py prune_history` keeps; unset keeps it forever.
HISTORY_RETENTION_DAYS = env_int("HISTORY_RETENTION_DAYS", 0) or None

# --- Logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "urllib3": {"level": "WARNING"},
    },
}
