"""Django settings: one module, read from the environment, production values by default.

Development opts out through `.env` (DEBUG=1 and friends); see `.env.example` for every variable.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.email_url import email_settings
from config.env import env_bool, env_dns_names, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# GENERAL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env_bool("DEBUG", default=False)
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
SECRET_KEY = env_secret("SECRET_KEY")
# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
# The names the acme service gets a certificate for (ACME_DOMAINS) are served too, as by Nginx
# (nginx/entrypoint.d/40-server-names.sh); a name HTTP-01 cannot prove stops start-up here.
ACME_DOMAINS = env_dns_names("ACME_DOMAINS")
ALLOWED_HOSTS += [host for host in ACME_DOMAINS if host not in ALLOWED_HOSTS]
# Origins (scheme://host[:port]) allowed to POST forms such as the admin login from another origin.
# https://docs.djangoproject.com/en/5.2/ref/settings/#csrf-trusted-origins
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The build this process runs (the image's APP_VERSION: the git revision `make` built it from),
# reported on /api/health/ and in every response's X-App-Version header, so a deploy's switch is visible.
APP_VERSION = env_str("APP_VERSION", "unknown")

# Error reporting (core/sentry.py): off unless SENTRY_DSN (or SENTRY_DSN_FILE) is set.
SENTRY_DSN = env_secret("SENTRY_DSN", default="")
if SENTRY_DSN:
    if not SENTRY_DSN.startswith(("https://", "http://")) or "@" not in SENTRY_DSN:
        raise ImproperlyConfigured("SENTRY_DSN must be a DSN like https://<key>@<host>/<project>.")
    from core.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "production"), release=APP_VERSION)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
LANGUAGE_CODE = "en-us"
# UTC everywhere, logs included (Django's own default would be America/Chicago).
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    # Without it, refresh rotation silently revokes nothing (SimpleJWT issue 985).
    "rest_framework_simplejwt.token_blacklist",
    "corsheaders",
    "drf_spectacular",
    # Swagger UI's JavaScript and CSS as static files: the docs work with no internet access.
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "notes",
    # Your apps: make startapp adds each one above this line.
]

MIDDLEWARE = [
    # Counts and times every request for Prometheus (core/metrics.py), outermost: the whole of it.
    "core.metrics.MetricsMiddleware",
    # Names the build on every response, the JSON errors built just below included.
    "core.middleware.AppVersionMiddleware",
    # Reshapes every error under /api/ into JSON, whichever layer inside it produced it.
    "core.middleware.ApiJsonErrorsMiddleware",
    # Takes Nginx's X-Request-ID for the logs and the response.
    "core.middleware.RequestIdMiddleware",
    # The 405s Nginx refuses itself (TRACE), sent here to be answered with the resource's Allow.
    "core.middleware.MethodNotAllowedMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Serves /static/ when the app runs without Nginx (PaaS); behind Nginx it never sees those paths.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# DATABASE
# ------------------------------------------------------------------------------
# postgres://USER:PASSWORD@HOST:PORT/NAME; URL-encode special characters in the password.
# https://github.com/jazzband/dj-database-url
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL"),
        # Persistent connections: about 6x faster than a new connection per request.
        # https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        # A connection the database dropped (restart, failover) is replaced instead of failing a
        # request: checked before each request's first query.
        conn_health_checks=True,
    )
}
# PostgreSQL, or PostGIS on top of it (postgis://; the image then needs GDAL, see Django's GeoDjango docs).
_DATABASE_BACKENDS = {
    "django.db.backends.postgresql": "core.db.postgresql",
    "django.contrib.gis.db.backends.postgis": "core.db.postgis",
}
if DATABASES["default"]["ENGINE"] not in _DATABASE_BACKENDS:
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...) or PostGIS (postgis://...).")
# The health check asks the connection's socket, without a round trip to the server (core/db/).
# DATABASE_SOCKET_CHECK=0 keeps Django's own check, a `SELECT 1` per request.
if env_bool("DATABASE_SOCKET_CHECK", default=True):
    DATABASES["default"]["ENGINE"] = _DATABASE_BACKENDS[DATABASES["default"]["ENGINE"]]
# TCP keepalives, so that a database that vanished without closing its connections (a crashed
# host, a failover) shows as an error on the socket within ~1 minute of idleness, which the
# health check sees. Options given in DATABASE_URL (?keepalives_idle=...) take precedence.
# A database that does not answer a new connection within 5 s, or leaves what was sent to it
# unacknowledged for 5 s (unreachable: a cut network, a vanished host), is an error (a JSON 503),
# not a request held for the OS's TCP timeouts (minutes). A slow query is not affected.
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": 5,
    "tcp_user_timeout": 5_000,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    **DATABASES["default"].get("OPTIONS", {}),
}
# The password may live apart from the URL, in a variable or a file (Docker secrets).
if os.environ.get("DATABASE_PASSWORD", "").strip() or os.environ.get("DATABASE_PASSWORD_FILE", "").strip():
    DATABASES["default"]["PASSWORD"] = env_secret("DATABASE_PASSWORD")

# SECURITY
# ------------------------------------------------------------------------------
# Nginx terminates TLS and sets X-Forwarded-Proto itself (overwriting any client value), so
# Django may trust it. https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
# The container healthcheck talks plain HTTP to Gunicorn directly.
SECURE_REDIRECT_EXEMPT = [r"^api/health/$", r"^api/health/live/$"]
SECURE_HSTS_SECONDS = env_int("HSTS_MAX_AGE", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading is a commitment an operator makes for a whole domain (hstspreload.org), so it is
# opt-in; while off, the check that recommends it is silenced rather than left as noise.
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Cross-origin requests are refused unless their origin is listed (scheme://host[:port]).
# https://github.com/adamchainz/django-cors-headers
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# PASSWORD_HASHER picks the hasher for new passwords: argon2 (default; Argon2id at OWASP's
# parameters, ~12x cheaper per login than PBKDF2 and at least as strong) or pbkdf2 (Django's
# default). The others still verify older hashes, which Django re-hashes with the chosen one at
# the next successful login, so switching either way is safe.
# https://docs.djangoproject.com/en/5.2/topics/auth/passwords/#using-argon2-with-django
_HASHERS = {
    "argon2": "accounts.hashers.OwaspArgon2idPasswordHasher",
    "pbkdf2": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
}
_hasher = env_str("PASSWORD_HASHER", "argon2").lower()
if _hasher not in _HASHERS:
    raise ImproperlyConfigured(f"PASSWORD_HASHER must be one of {', '.join(_HASHERS)}, not {_hasher!r}.")
PASSWORD_HASHERS = [
    _HASHERS[_hasher],
    *(path for name, path in _HASHERS.items() if name != _hasher),
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# https://docs.djangoproject.com/en/5.2/topics/auth/passwords/#password-validation
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# STATIC FILES
# ------------------------------------------------------------------------------
# Collected into the image at build time; Nginx serves its own copy, WhiteNoise serves this one.
# The web image sets STATIC_ROOT=/opt/static, outside the code, so that make dev and make pytest,
# which mount app/ over /app, still find the collected files and their manifest.
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (cacheable forever) plus precompressed .gz copies for Nginx's gzip_static.
    # https://whitenoise.readthedocs.io/en/stable/django.html#add-compression-and-caching-support
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# REST_FRAMEWORK
# ------------------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTUserAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # One error shape for the whole API (core/errors.py).
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    # drf-spectacular's, plus each operation's query parameters and every error it can return.
    "DEFAULT_SCHEMA_CLASS": "core.schema.ApiAutoSchema",
    # No `?format=` switch: the query string of an operation holds only what its schema documents
    # (core/query.py). JSON is the one format; /api/schema/ picks YAML or JSON by Accept.
    "URL_FORMAT_OVERRIDE": None,
    # Behind Nginx, the client address is the one X-Forwarded-For entry Nginx writes.
    "NUM_PROXIES": 1,
    # Every view: writes per signed-in user (core/throttling.py); reads are not counted.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.WriteRateThrottle"],
    # "auth": second layer behind Nginx's rate limit, on the sign-in and account endpoints and
    # the admin login, per address. Both counted in the shared database cache, so every worker
    # and replica sees one count.
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_str("AUTH_THROTTLE_RATE", "60/min"),
        "writes": env_str("WRITE_THROTTLE_RATE", "120/min"),
        # Password reset and email change, per address asked for (core/throttling.py).
        "account_email": env_str("ACCOUNT_EMAIL_THROTTLE_RATE", "5/hour"),
    },
}

# CACHE
# ------------------------------------------------------------------------------
# Shared by all workers and replicas (throttling counts); the migrate job creates the table
# (`manage.py createcachetable`, after `migrate`: docker-compose.yml).
# Full, Django's database cache culls a third of its keys, live throttle counts included: with
# its default 300 entries, ~300 clients a minute were enough for the per-address sign-in limit to
# stop holding. This one culls only expired keys (core/cache.py), past CACHE_MAX_ENTRIES.
CACHES = {
    "default": {
        "BACKEND": "core.cache.ExpiredOnlyCullingDatabaseCache",
        "LOCATION": "django_cache",
        "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 100_000)},
    }
}

# Off switch for POST /api/auth/register/ (a 403 with code registration_closed when off).
REGISTRATION_ENABLED = env_bool("REGISTRATION_ENABLED", default=True)

# EMAIL
# ------------------------------------------------------------------------------
# Password reset and email change send mail (accounts/emails.py), from a background sender in
# each worker (core/mail.py): a request never waits on the mail server. EMAIL_URL picks where
# mail goes (config/email_url.py): smtp://[user:password@]host[:port] (plain, port 25),
# smtp+tls:// (STARTTLS, 587), smtps:// (TLS, 465), or console: (one log line per message, for
# local use; the default with DEBUG on). Or, with EMAIL_URL empty, Django's own EMAIL_HOST,
# EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD(_FILE), EMAIL_USE_TLS, EMAIL_USE_SSL.
# With neither, and DEBUG off, start-up stops: the account emails would be lost.
# https://docs.djangoproject.com/en/5.2/topics/email/
ACCOUNT_EMAILS_ENABLED = env_bool("ACCOUNT_EMAILS_ENABLED", default=True)
_email = email_settings(
    url=env_secret("EMAIL_URL", default=""),
    host=env_str("EMAIL_HOST", ""),
    port=env_int("EMAIL_PORT", 0),
    user=env_str("EMAIL_HOST_USER", ""),
    password=env_secret("EMAIL_HOST_PASSWORD", default=""),
    use_tls=env_bool("EMAIL_USE_TLS", default=False),
    use_ssl=env_bool("EMAIL_USE_SSL", default=False),
    required=ACCOUNT_EMAILS_ENABLED and not DEBUG,
)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
# Seconds one SMTP connection may take at each step (connect, each command): the sender thread's
# bound, never a request's.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
if not 1 <= EMAIL_TIMEOUT <= 120:
    raise ImproperlyConfigured("EMAIL_TIMEOUT must be between 1 and 120 seconds.")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long a password-reset or email-change link works, in seconds (Django's default is 3 days).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
if not 10 <= PASSWORD_RESET_TIMEOUT <= 7 * 86400:
    raise ImproperlyConfigured("PASSWORD_RESET_TIMEOUT must be between 10 seconds and 7 days (604800).")
# Where the links in those mails point: your front end's page, which posts the token to the API
# ({token} is replaced). Empty: the mail carries the token alone, to post to the API yourself.
PASSWORD_RESET_URL = env_str("PASSWORD_RESET_URL", "")
EMAIL_CHANGE_URL = env_str("EMAIL_CHANGE_URL", "")
for _name, _template in (("PASSWORD_RESET_URL", PASSWORD_RESET_URL), ("EMAIL_CHANGE_URL", EMAIL_CHANGE_URL)):
    if _template and (not _template.startswith(("https://", "http://")) or "{token}" not in _template):
        raise ImproperlyConfigured(
            f"{_name} must be an http(s) URL with {{token}} in it, e.g. https://app.example.com/reset#{{token}}."
        )
# SIMPLE_JWT
# ------------------------------------------------------------------------------
# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
JWT_SIGNING_KEY = env_secret("JWT_SIGNING_KEY")
if len(JWT_SIGNING_KEY.encode()) < 32:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be at least 32 bytes long.")
if JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY.")
JWT_LEEWAY = env_int("JWT_LEEWAY", 0)
if not 0 <= JWT_LEEWAY <= 30:
    raise ImproperlyConfigured("JWT_LEEWAY must be between 0 and 30 seconds.")
JWT_ACCESS_TOKEN_LIFETIME = env_int("JWT_ACCESS_TOKEN_LIFETIME", 300)
# Seconds a worker may answer reads with a user row it read for a bearer token, instead of
# reading it again (accounts/authentication.py, RecentUsers). 0, the default: read every time,
# so a deactivated user or a changed password refuses the user's access tokens at once.
JWT_USER_CACHE_SECONDS = env_int("JWT_USER_CACHE_SECONDS", 0)
# The longest a session lasts from its sign-in, however often it is refreshed (accounts/tokens.py).
JWT_REFRESH_TOKEN_LIFETIME = env_int("JWT_REFRESH_TOKEN_LIFETIME", 86400)
JWT_SESSION_LIFETIME = env_int("JWT_SESSION_LIFETIME", 30 * 86400)
if JWT_SESSION_LIFETIME < JWT_REFRESH_TOKEN_LIFETIME:
    raise ImproperlyConfigured("JWT_SESSION_LIFETIME must be at least JWT_REFRESH_TOKEN_LIFETIME.")
if not 0 <= JWT_USER_CACHE_SECONDS <= 60:
    raise ImproperlyConfigured("JWT_USER_CACHE_SECONDS must be between 0 and 60 seconds.")
if JWT_USER_CACHE_SECONDS and JWT_USER_CACHE_SECONDS >= JWT_ACCESS_TOKEN_LIFETIME:
    raise ImproperlyConfigured("JWT_USER_CACHE_SECONDS must be shorter than JWT_ACCESS_TOKEN_LIFETIME.")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_TOKEN_LIFETIME),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_TOKEN_LIFETIME),
    # Pinned: tokens are only ever verified with this algorithm (no "none", no HS512 swap).
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    # Clock skew tolerated on exp/nbf, in seconds.
    "LEEWAY": JWT_LEEWAY,
    # Every token names who issued it and for whom; a token of another environment (another
    # JWT_ISSUER or JWT_AUDIENCE) is refused even if it shares the signing key.
    "ISSUER": env_str("JWT_ISSUER", "djstack"),
    "AUDIENCE": env_str("JWT_AUDIENCE", "djstack-api"),
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Each refresh spends the refresh token and returns a new one; the old one is blacklisted.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens of one session, tied to the user's sessions version (accounts/tokens.py).
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.SessionTokenObtainPairSerializer",
    # Race-free rotation, reuse revokes the session, a 401 instead of a 500 for deleted users.
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.RotatingTokenRefreshSerializer",
    # 200 only for a token the API would accept (the same user checks).
    "TOKEN_VERIFY_SERIALIZER": "accounts.serializers.UserCheckingTokenVerifySerializer",
    # Sign-out with the token taken as sent (core/fields.py).
    "TOKEN_BLACKLIST_SERIALIZER": "accounts.serializers.StrictTokenBlacklistSerializer",
    # Tokens carry a hash of the password hash: a password change invalidates access tokens at once.
    "CHECK_REVOKE_TOKEN": True,
    "CHECK_USER_IS_ACTIVE": True,
    "UPDATE_LAST_LOGIN": False,
}

# OPENAPI
# ------------------------------------------------------------------------------
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
# The schema (/api/schema/) and its Swagger UI (/api/docs/) for anyone (1, default), or a 404 (0):
# the schema lists every endpoint and field, which some operators prefer not to publish.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", default=True)
SPECTACULAR_SETTINGS = {
    "TITLE": "djstack API",
    "DESCRIPTION": "JWT-authenticated REST API. Obtain a token pair at /api/token/, then send "
    "`Authorization: Bearer <access>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # The `Error` component and the error responses every operation references, and the links
    # between operations (core/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.postprocess"],
}

# LOGGING
# ------------------------------------------------------------------------------
# Everything to stdout/stderr; Docker collects it.
# One JSON object per line, with the request id Nginx assigned; no request bodies, no headers.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
