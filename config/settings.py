"""DentalSales settings, configured from the environment.

Variables: DATABASE_URL (default: SQLite file ``db.sqlite3`` beside
manage.py), SECRET_KEY, DEBUG, ALLOWED_HOSTS (comma-separated),
CSRF_TRUSTED_ORIGINS (comma-separated), EMAIL_HOST (e-mail goes to the
console backend unless it is set) and the COMPANY_* values printed on
documents.
"""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
if env_bool("BEHIND_HTTPS_PROXY"):
    # The reverse proxy terminates TLS and sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    # django-axes, registered under a translated name.
    "dentalsales.core.apps.AxesConfig",
    "django_htmx",
    "dentalsales.core",
    "dentalsales.accounts",
    "dentalsales.customers",
    "dentalsales.catalog",
    "dentalsales.pricing",
    "dentalsales.inventory",
    "dentalsales.sales",
    "dentalsales.notifications",
    "dentalsales.crm",
    "dentalsales.aftersales",
    "dentalsales.finance",
    "dentalsales.quality",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes must come last so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "dentalsales.accounts.context_processors.navigation",
            ],
        },
    },
]

DEFAULT_SQLITE_URL = "sqlite:///" + str(BASE_DIR / "db.sqlite3")
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_SQLITE_URL),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer commits; IMMEDIATE takes the
    # write lock at BEGIN so that two writers queue instead of failing with
    # "database is locked" when a read transaction upgrades to a write.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.5  # hours
# Lock the combination: five failures for one user name from one address
# lock that user there, not every user behind the same office address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "dentalsales@localhost")

REST_FRAMEWORK = {
    # Token first, so that a request without credentials gets 401 with a
    # WWW-Authenticate header instead of 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dentalsales.core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DentalSales API",
    "DESCRIPTION": "Sales management for a distributor of dental consumables.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from drf-spectacular-sidecar, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "dentalsales": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        # Tracebacks of server errors, which Django only e-mails to ADMINS otherwise.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# Business settings. Each can be overridden from the environment.
COMPANY_NAME = os.environ.get("COMPANY_NAME", "华齿医疗器械贸易有限公司（演示）")
COMPANY_ADDRESS = os.environ.get("COMPANY_ADDRESS", "上海市浦东新区张江路 88 号（演示地址）")
COMPANY_PHONE = os.environ.get("COMPANY_PHONE", "021-5080 0000")
COMPANY_LICENCE_NUMBER = os.environ.get("COMPANY_LICENCE_NUMBER", "沪浦药监械经营许20260001号（演示）")
# Printed on customer statements when set, so that customers know where to pay.
COMPANY_BANK_NAME = os.environ.get("COMPANY_BANK_NAME", "")
COMPANY_BANK_ACCOUNT = os.environ.get("COMPANY_BANK_ACCOUNT", "")
# An order for the same customer with the same lines within this many days
# is flagged as a possible duplicate in order review.
DUPLICATE_ORDER_WINDOW_DAYS = int(os.environ.get("DUPLICATE_ORDER_WINDOW_DAYS", "3"))
# Contracts above this total (yuan, tax incl.) need a manager's approval after the supervisor's.
CONTRACT_MANAGER_REVIEW_AMOUNT = Decimal(os.environ.get("CONTRACT_MANAGER_REVIEW_AMOUNT", "200000"))
# Order review fails the credit check while any receivable of the customer is
# more than this many days past its due date, unless finance granted a credit
# release. 30 days tolerates a customer's usual month-end payment run.
CREDIT_OVERDUE_TOLERANCE_DAYS = int(os.environ.get("CREDIT_OVERDUE_TOLERANCE_DAYS", "30"))
# Days a complaint may stay open, by severity, before it is overdue and
# escalated to the representative's supervisor.
COMPLAINT_SERVICE_LEVEL_DAYS = {
    "critical": int(os.environ.get("COMPLAINT_DAYS_CRITICAL", "1")),
    "high": int(os.environ.get("COMPLAINT_DAYS_HIGH", "2")),
    "medium": int(os.environ.get("COMPLAINT_DAYS_MEDIUM", "5")),
    "low": int(os.environ.get("COMPLAINT_DAYS_LOW", "10")),
}
# A satisfaction call-back falls due this many days after a shipment.
SATISFACTION_CALLBACK_DELAY_DAYS = int(os.environ.get("SATISFACTION_CALLBACK_DELAY_DAYS", "7"))
# Shipments older than this many days get no call-back when the scheduler
# first runs, so that a new installation does not schedule its whole history.
SATISFACTION_CALLBACK_LOOKBACK_DAYS = int(os.environ.get("SATISFACTION_CALLBACK_LOOKBACK_DAYS", "60"))
# After an unanswered call, a call-back falls due again this many days later
# unless the representative picks another date.
SATISFACTION_CALLBACK_RETRY_DAYS = int(os.environ.get("SATISFACTION_CALLBACK_RETRY_DAYS", "7"))
# Unanswered calls after which a representative may close a call-back as
# unreachable.
SATISFACTION_CALLBACK_MAX_ATTEMPTS = int(os.environ.get("SATISFACTION_CALLBACK_MAX_ATTEMPTS", "3"))
# How far back a complaint's receipt date may lie: entry staff catch up on
# calls from the past weeks, while an older date is more likely a typing
# error that would make the complaint overdue at once.
COMPLAINT_MAX_BACKDATE_DAYS = int(os.environ.get("COMPLAINT_MAX_BACKDATE_DAYS", "90"))
# Expiry radar: stock expiring within each window (days, ascending) is
# listed and counted; the last window is also how far ahead registration
# certificates are watched.
EXPIRY_WINDOWS_DAYS = [int(days) for days in env_list("EXPIRY_WINDOWS_DAYS", "30,90,180")]
