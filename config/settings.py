"""Gerbang settings.

Development is the default. ``GERBANG_ENV=production`` switches to production
settings, which take secrets and hosts from the environment and refuse to start
without them.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config import gunicorn_logging

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GERBANG_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

GERBANG_ENV = os.environ.get("GERBANG_ENV", "development")
PRODUCTION = GERBANG_ENV == "production"
if GERBANG_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("GERBANG_ENV must be 'development' or 'production'.")


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when GERBANG_ENV=production.")
    return value


if PRODUCTION:
    SECRET_KEY = _required("SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]
    _required("DATABASE_URL")
    DEBUG = False
else:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-not-for-production-use-0123456789")
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
    DEBUG = os.environ.get("DEBUG", "1") == "1"

# The address applicants see; used in links sent by e-mail.
GERBANG_PUBLIC_URL = (
    _required("GERBANG_PUBLIC_URL") if PRODUCTION else os.environ.get("GERBANG_PUBLIC_URL", "http://localhost:8000")
)
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "axes",
    "django_q",
    "gerbang.core",
    "gerbang.audit",
    "gerbang.organisation",
    "gerbang.accounts",
    "gerbang.access",
    "gerbang.tariffs",
    "gerbang.identity",
    "gerbang.applications",
    "gerbang.payments",
    "gerbang.appointments",
    "gerbang.visits",
    "gerbang.duty",
    "gerbang.casework",
    "gerbang.channel",
    "gerbang.visas",
    "gerbang.supervision",
    "gerbang.public",
]

MIDDLEWARE = [
    # First: under ANONYMOUS_PATHS (the whistle-blowing form) the request loses its address, browser and
    # cookies before anything else sees it, and the answer sets no cookie (gerbang/supervision/anonymous.py).
    "gerbang.supervision.anonymous.AnonymousPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (the account is known) and before any view: 429 past the limits (docs/adr/0007).
    "gerbang.core.ratelimit.RateLimitMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "gerbang.accounts.middleware.StaffIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gerbang.core.context_processors.gerbang",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# Embedded default: SQLite in WAL mode with immediate transactions, so two
# processes doing read-then-write never hit "database is locked".
DEFAULT_SQLITE_PATH = VAR_DIR / "gerbang.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0 if not PRODUCTION else 600
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
        ),
    }
    # Tests use a file so that separate processes (the task worker test) see it.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and sign-in -------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "django_otp_webauthn.backends.WebAuthnBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"

# Log-in throttling and lock-out (django-axes): 5 failures per account lock it
# for 30 minutes; the failure log is kept in the database.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=30)
# Locked per account, not per address: counters of one office share an address,
# and one officer's typos must not lock out the whole office (docs/adr/0003).
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "gerbang.accounts.views.locked_out"

# Staff sessions end after 15 minutes without a request; applicants' after 8 hours.
STAFF_IDLE_TIMEOUT = timedelta(minutes=15)
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Second factors that do not live on a phone.
OTP_TOTP_ISSUER = "Gerbang"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_WEBAUTHN_RP_NAME = "Gerbang"
OTP_WEBAUTHN_RP_ID = os.environ.get("WEBAUTHN_RP_ID", "localhost")
OTP_WEBAUTHN_ALLOWED_ORIGINS = [
    o for o in os.environ.get("WEBAUTHN_ALLOWED_ORIGINS", "" if PRODUCTION else "http://localhost:8000").split(",") if o
]
if PRODUCTION and not OTP_WEBAUTHN_ALLOWED_ORIGINS:
    _required("WEBAUTHN_ALLOWED_ORIGINS")
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Jakarta"
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Applicants' documents: outside the web root, never served by the web server
# directly (only through the access-checked, audited view). Any Django storage
# backend may be named here, e.g. django-storages' S3 backend for an
# S3-compatible object store (docs/applications.md).
DOCUMENT_STORAGE_BACKEND = os.environ.get("GERBANG_DOCUMENT_STORAGE", "django.core.files.storage.FileSystemStorage")
DOCUMENT_STORAGE_OPTIONS: dict[str, Any] = (
    {"location": str(VAR_DIR / "documents"), "base_url": None, "file_permissions_mode": 0o600}
    if DOCUMENT_STORAGE_BACKEND.endswith("FileSystemStorage")
    else json.loads(os.environ.get("GERBANG_DOCUMENT_STORAGE_OPTIONS", "{}"))
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "documents": {"BACKEND": DOCUMENT_STORAGE_BACKEND, "OPTIONS": DOCUMENT_STORAGE_OPTIONS},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- E-mail ---------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Gerbang <no-reply@gerbang.localhost>")
if PRODUCTION:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _required("EMAIL_HOST")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = True
else:
    # Development: messages are written as files under var/mail/.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# --- Security headers -----------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# --- Task queue (django-q2 on the database; see docs/adr/0002) ------------
Q_CLUSTER = {
    "name": "gerbang",
    "orm": "default",
    "workers": int(os.environ.get("GERBANG_WORKERS", "2")),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 5,
    "ack_failures": True,
    "catch_up": False,
    "poll": 1,
    # The scheduler runs every 30 guard cycles (15 s by default).
    "guard_cycle": float(os.environ.get("GERBANG_Q_GUARD_CYCLE", "0.5")),
    "save_limit": 1000,
    "label": _("Task queue"),
}

# Worker heartbeat: the health endpoint reports the worker as down when the
# periodic heartbeat task has not run for this long.
WORKER_HEARTBEAT_MAX_AGE = timedelta(minutes=3)

# --- Audit log (docs/audit-log.md) -------------------------------------------
# The log's name in its signed tree heads; the key file holds its Ed25519
# signing key (``manage.py audit_keygen`` creates one; in production it comes
# from the secret store). The witness belongs to another party: its address
# and its public (verifier) key, as text or as a file holding the text.
AUDIT_LOG_ORIGIN = os.environ.get("GERBANG_AUDIT_ORIGIN", urlsplit(GERBANG_PUBLIC_URL).netloc + "/audit-log")
AUDIT_LOG_KEY_FILE = Path(os.environ.get("GERBANG_AUDIT_KEY_FILE", VAR_DIR / "keys" / "audit-log.key"))
AUDIT_CHECKPOINT_DIR = Path(os.environ.get("GERBANG_CHECKPOINT_DIR", VAR_DIR / "checkpoints"))
AUDIT_WITNESS_URL = os.environ.get("GERBANG_WITNESS_URL", "http://127.0.0.1:8001")
AUDIT_WITNESS_KEY = os.environ.get("GERBANG_WITNESS_KEY", str(VAR_DIR / "witness" / "witness.vkey"))
# The sealer process wakes this often (seconds); health turns "degraded" when
# the oldest unsealed event is older than AUDIT_SEALING_LAG_MAX seconds.
AUDIT_SEAL_INTERVAL = float(os.environ.get("GERBANG_SEAL_INTERVAL", "1"))
AUDIT_SEALING_LAG_MAX = float(os.environ.get("GERBANG_SEALING_LAG_MAX", "5"))
# /metrics (Prometheus) answers only these client addresses.
METRICS_ALLOWED_IPS = [a.strip() for a in os.environ.get("GERBANG_METRICS_ALLOWED_IPS", "127.0.0.1,::1").split(",")]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Population registry (services/registry; docs/identity.md) ---------------
# Gerbang signs its requests with its client key; it trusts only the
# registry's public key for the answers.
REGISTRY_URL = os.environ.get("GERBANG_REGISTRY_URL", "http://127.0.0.1:8002")
REGISTRY_CLIENT_KEY_FILE = Path(os.environ.get("GERBANG_CLIENT_KEY_FILE", VAR_DIR / "keys" / "gerbang-client.key"))
REGISTRY_PUBLIC_KEY_FILE = Path(os.environ.get("GERBANG_REGISTRY_KEY_FILE", VAR_DIR / "registry" / "registry.pub"))
REGISTRY_TIMEOUT = float(os.environ.get("GERBANG_REGISTRY_TIMEOUT", "5"))

# --- Border control (services/border; docs/border-protocol.md) -------------------
# Border control reports entries and exits signed with its key; Gerbang trusts the keys in this file (read on
# every request, so it may appear after Gerbang started) and signs its answers with REGISTRY_CLIENT_KEY_FILE.
BORDER_PUBLIC_KEY_FILE = Path(os.environ.get("GERBANG_BORDER_KEY_FILE", VAR_DIR / "border" / "border.pub"))
BORDER_URL = os.environ.get("GERBANG_BORDER_URL", f"http://127.0.0.1:{os.environ.get('GERBANG_BORDER_PORT', '8004')}")

# --- Applications and their documents (docs/applications.md) --------------------
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_MAX_PIXELS = 50_000_000
DOCUMENT_MAX_PDF_PAGES = 20
# Service standard shown on the status page: working days from the interview.
PASSPORT_SERVICE_DAYS = int(os.environ.get("GERBANG_PASSPORT_SERVICE_DAYS", "3"))
# Bearer tokens for the mobile client (POST /api/v1/auth/token).
API_TOKEN_LIFETIME = timedelta(days=int(os.environ.get("GERBANG_API_TOKEN_DAYS", "30")))
# Uploads above this are streamed to a temporary file, not held in memory; the
# whole request may carry a little more than one document.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Payments (docs/bank-protocol.md) -------------------------------------------
# Per-bank HMAC secrets: BANK_SECRETS_DIR/<bank code>.secrets, one hex secret per line
# (several during a rotation; the first signs Gerbang's answers).
BANK_SECRETS_DIR = Path(os.environ.get("GERBANG_BANK_SECRETS_DIR", VAR_DIR / "keys" / "banks"))
# How long a bill may be paid, per service (the appointments issue adds 2 hours for first-come slots
# and 24 hours after a lottery draw).
BILL_VALIDITY = {
    "passport": timedelta(days=int(os.environ.get("GERBANG_PASSPORT_BILL_DAYS", "7"))),
    # A passport's bill is issued when a slot is allocated: 2 hours after a first-come booking, 24 hours
    # after a draw (or a place from the waiting list); unpaid, the slot goes back to the waiting list.
    "passport_first_come": timedelta(hours=int(os.environ.get("GERBANG_FIRST_COME_BILL_HOURS", "2"))),
    "passport_lottery": timedelta(hours=int(os.environ.get("GERBANG_LOTTERY_BILL_HOURS", "24"))),
    # Visas and stay permits, and overstay fines: up to 7 days (DOMAIN.md).
    "visa": timedelta(days=int(os.environ.get("GERBANG_VISA_BILL_DAYS", "7"))),
    "overstay": timedelta(days=int(os.environ.get("GERBANG_OVERSTAY_BILL_DAYS", "7"))),
}
# Appointments (docs/lottery.md): a booking may be moved once, while it is at least this many hours away;
# one not checked in this many minutes after its start is a no-show, and a no-show keeps its applicant's
# NIK from new appointments for this many days.
GERBANG_RESCHEDULE_MIN_HOURS = int(os.environ.get("GERBANG_RESCHEDULE_MIN_HOURS", "24"))
GERBANG_NO_SHOW_AFTER_MINUTES = int(os.environ.get("GERBANG_NO_SHOW_AFTER_MINUTES", "60"))
GERBANG_NO_SHOW_BLOCK_DAYS = int(os.environ.get("GERBANG_NO_SHOW_BLOCK_DAYS", "30"))
# Casework (docs/casework.md): a final refusal may be appealed this many days after it; a spot check is
# recorded at most this many days after it happened.
GERBANG_APPEAL_DAYS = int(os.environ.get("GERBANG_APPEAL_DAYS", "30"))
# Foreigners (gerbang.visas): ITAS registration within this many days of the entry event; the tariff service of
# the overstay fine (per day); reminders this many days before a stay permit ends.
GERBANG_ITAS_REGISTRATION_DAYS = int(os.environ.get("GERBANG_ITAS_REGISTRATION_DAYS", "30"))
GERBANG_OVERSTAY_SERVICE = os.environ.get("GERBANG_OVERSTAY_SERVICE", "overstay-per-day")
GERBANG_PERMIT_REMINDER_DAYS = int(os.environ.get("GERBANG_PERMIT_REMINDER_DAYS", "30"))
GERBANG_SPOT_CHECK_LATE_DAYS = int(os.environ.get("GERBANG_SPOT_CHECK_LATE_DAYS", "1"))
# Notifications (gerbang/channel): the SMS gateway (a dotted path; the file backend writes var/sms/), and how
# often an unsent notification is tried again.
GERBANG_SMS_BACKEND = os.environ.get("GERBANG_SMS_BACKEND", "gerbang.channel.sms.FileBackend")
GERBANG_SMS_FILE_PATH = Path(os.environ.get("GERBANG_SMS_FILE_PATH", VAR_DIR / "sms"))
# Hosts besides GERBANG_PUBLIC_URL's that officers' messages may link to (comma-separated).
GERBANG_CHANNEL_ALLOWED_HOSTS = [h for h in os.environ.get("GERBANG_CHANNEL_ALLOWED_HOSTS", "").split(",") if h]
GERBANG_NOTIFICATION_MAX_ATTEMPTS = int(os.environ.get("GERBANG_NOTIFICATION_MAX_ATTEMPTS", "10"))
# A bill stays "issued" this long after its expiry, so a payment made in time whose notification
# arrives late is still credited (and what the bill held is kept).
BILL_LATE_NOTIFICATION_GRACE = timedelta(hours=int(os.environ.get("GERBANG_BILL_GRACE_HOURS", "24")))
# The sandbox bank's API and Gerbang's collection account there (seed_demo registers them; a real bank's
# address and account are set on its Bank row).
BANK_SANDBOX_URL = os.environ.get("GERBANG_BANK_URL", f"http://127.0.0.1:{os.environ.get('GERBANG_BANK_PORT', '8003')}")
BANK_SANDBOX_ACCOUNT = os.environ.get("GERBANG_BANK_ACCOUNT", "0001234567890")

# --- Rate limits (docs/adr/0007-rate-limits.md) ----------------------------------
# Requests per window of RATE_LIMIT_WINDOW seconds, per class of request, counted per signed-in account and
# per client address in the database (gerbang/core/ratelimit.py); past either limit the answer is 429 with
# Retry-After. Reads are looser than writes ("write": any method but GET, HEAD, OPTIONS, TRACE). Address
# limits are high because many people share one address (an office's counters, a mobile carrier's NAT).
# GERBANG_RATE_LIMITS is "off" (no limits, no counting) or a JSON object overriding some numbers, e.g.
# '{"page-write": {"address": 5000}}'; null there means no limit on that key. (bench/booking_flash_crowd.py
# keeps the limits on, with each applicant at an address of its own behind a trusted proxy.)
RATE_LIMIT_DEFAULTS: dict[str, dict[str, int | None]] = {
    "page-read": {"account": 300, "address": 6000},
    "page-write": {"account": 60, "address": 1200},
    "api-read": {"account": 600, "address": 6000},
    "api-write": {"account": 120, "address": 1200},
}


def _rate_limits(text: str) -> dict[str, dict[str, int | None]]:
    if text.lower() in {"off", "0", "false", "no"}:
        return {}
    limits = {name: dict(keys) for name, keys in RATE_LIMIT_DEFAULTS.items()}
    try:
        overrides = json.loads(text) if text else {}
    except ValueError as exc:
        raise ImproperlyConfigured(f"GERBANG_RATE_LIMITS is neither 'off' nor JSON: {exc}") from exc
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured("GERBANG_RATE_LIMITS must be 'off' or a JSON object")
    for name, keys in overrides.items():
        if name not in limits or not isinstance(keys, dict) or not set(keys) <= {"account", "address"}:
            raise ImproperlyConfigured(
                f"GERBANG_RATE_LIMITS: {name!r} must be one of {sorted(limits)} with 'account' and/or 'address'"
            )
        for key, value in keys.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ImproperlyConfigured(f"GERBANG_RATE_LIMITS: {name}.{key} must be a positive integer or null")
            limits[name][key] = value
    return limits


RATE_LIMITS = _rate_limits(os.environ.get("GERBANG_RATE_LIMITS", "").strip())
RATE_LIMIT_WINDOW = int(os.environ.get("GERBANG_RATE_LIMIT_WINDOW", "60"))
if RATE_LIMIT_WINDOW < 1:
    raise ImproperlyConfigured("GERBANG_RATE_LIMIT_WINDOW must be at least 1 (seconds).")
# Never limited: paths ending in "/" are prefixes, the others exact paths. The bank's signed API has its own
# nonces and retries; health and metrics are for monitoring. The anonymous whistle-blowing pages
# (ANONYMOUS_PATHS) are exempted from the per-address limit with @gerbang.core.ratelimit.exempt("address").
RATE_LIMIT_EXEMPT_PATHS = ["/api/bank/", "/api/v1/health", "/metrics", STATIC_URL]
# IPv6 clients are counted per /64 (one household or phone usually holds a whole /64).
RATE_LIMIT_IPV6_PREFIX = 64
# How many reverse proxies in front of Gerbang append to X-Forwarded-For. 0: the client address is
# REMOTE_ADDR and X-Forwarded-For is ignored (anyone can write it); n: the n-th address from its right.
TRUSTED_PROXY_COUNT = int(os.environ.get("GERBANG_TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("GERBANG_TRUSTED_PROXY_COUNT must be 0 or more.")


# --- Supervision (gerbang/supervision; docs/supervision.md) ----------------------------------------------
# Thresholds of the integrity signals; a directorate may tune them here without a release of the code.
INTEGRITY_THRESHOLDS: dict[str, float] = {
    # Calibrated by bench/integrity_sim.py on seed 1 (a month of 200,000 cases at 40 offices with planted abuse
    # at three intensities) for at most 2 false flags per 1,000 clean officers per signal, and reported on
    # seed 2 (the issue 9 closing note has the figures). Where the target cannot be met the comment says so.
    # A case in one step longer than slow_factor x the office's median for that step and slow_min_days:
    # a review list (budget 200 per 1,000 officers: no threshold meets 2, normal long tails are that long).
    "slow_factor": 8.0,
    "slow_min_days": 2.0,
    # Officers with at least rate_min_decisions decisions whose refusal / ask-for-more rate lies rate_z
    # standard errors above the peers of the same duty (binomial z-score).
    "rate_min_decisions": 10.0,
    "rate_z": 7.0,
    # Refusals of one officer reversed on appeal within the window, and their share of the officer's refusals.
    "reversed_min": 3.0,
    "reversed_share": 0.6,
    # Views of personal data by staff not assigned / outside their shifts, per officer in the window.
    "view_not_assigned_min": 10.0,
    "view_off_roster_min": 15.0,
    # Counter acts without an active locker deposit; refused attempts to open a counter session.
    "no_deposit_min": 2.0,
    "refused_sessions_min": 6.0,
    # Blocked attempts to send contact details, per officer.
    "blocked_min": 4.0,
    # One payer, terminal, device or address acting for at least this many unrelated applicants (not on one
    # family card, not on one sponsor's list), per channel. A browser or an address is shared by internet
    # cafés and carrier-grade NAT: those two channels cannot meet the target and only back up the others.
    "broker_min_applicants": 4.0,
    "broker_min_payer": 4.0,
    "broker_min_terminal": 3.0,
    "broker_min_device": 30.0,
    "broker_min_client": 80.0,
    # Applicant-officer pairs: met in at least pair_min_cases cases with a binomial tail below pair_p.
    "pair_min_cases": 3.0,
    "pair_p": 0.01,
    # An office's express share this week against its previous weeks: at least express_min_cases cases and
    # express_z standard errors above.
    "express_min_cases": 10.0,
    "express_z": 3.5,
    # Applicants saying they were asked for money at one counter in the window: at least money_asked_min,
    # and a binomial tail below money_p at the other counters' rate of "yes".
    "money_asked_min": 1.0,
    "money_p": 0.01,
    # Audit: oldest unsealed event, a signed head not cosigned after this many seconds.
    "seal_lag_s": 180.0,
    "witness_lag_s": 900.0,
    # A dismissed signal found again at least reopen_growth x as strong as when it was dismissed is reopened:
    # a dismissal covers what the supervisor looked at, not whatever the pattern grows into.
    "reopen_growth": 1.5,
}
INTEGRITY_WINDOW_DAYS = int(os.environ.get("GERBANG_INTEGRITY_WINDOW_DAYS", "30"))
# Client traces (keyed hashes of address and browser, for the broker signal) are deleted after this many days
# by the daily purge-client-traces task; never fewer than INTEGRITY_WINDOW_DAYS, which the signals read.
CLIENT_TRACE_KEEP_DAYS = max(int(os.environ.get("GERBANG_CLIENT_TRACE_KEEP_DAYS", "60")), INTEGRITY_WINDOW_DAYS)
# National complaint deadlines (days): answer, close, settle a dispute; overdue reports are escalated a level.
REPORT_DEADLINE_DAYS = {"answer": 3, "close": 5, "dispute": 14}
# Anonymous reports accepted per minute from everybody together (the form keeps no address to count by).
REPORTS_PER_MINUTE = int(os.environ.get("GERBANG_REPORTS_PER_MINUTE", "30"))
# Visit feedback is asked this long after the visit ends, at the latest (the schedule runs every 5 minutes).
VISIT_FEEDBACK_WITHIN_MINUTES = 60
# Paths that keep no trace of who asked: no access log line, no per-address rate limit, no cookie. One list,
# shared with gunicorn's access logger (which runs before Django is set up).
ANONYMOUS_PATHS = list(gunicorn_logging.ANONYMOUS_PATHS)
