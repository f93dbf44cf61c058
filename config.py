"""Settings classes, read from the environment.

`create_app()` picks one by `LEGALAID_ENV` (production unless told otherwise); tests pass their own.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("LEGALAID_INSTANCE_PATH", BASE_DIR / "instance"))

# Never accepted in production; `Config.check()` refuses to start with it.
DEFAULT_SECRET_KEY = "change-me"  # noqa: S105  (the value refused in production)


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it (shown without a
    traceback: see wsgi.py)."""


# Values in the environment that could not be read; `check()` refuses to start while there are any.
# (Collected rather than raised: this module is read at import, where an error would be a traceback.)
_PROBLEMS: list[str] = []


def _bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        _PROBLEMS.append(f"{name} must be a whole number, not {value!r}.")
        return default


def _float(name: str, default: float) -> float:
    """Read a number from the environment."""
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        _PROBLEMS.append(f"{name} must be a number, not {value!r}.")
        return default


def _json(name: str) -> dict:
    """Read a JSON object from the environment ({} when unset)."""
    value = os.environ.get(name) or "{}"
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        _PROBLEMS.append(f'{name} must be a JSON object such as {{"key": "value"}}, not {value!r}.')
        return {}
    return parsed


def _cookie_name(name: str, secure: bool) -> str:
    """The cookie's name: with the `__Host-` prefix whenever it is Secure, so the browser keeps it only
    from this very host, over HTTPS, for the whole site (Path=/, no Domain): a neighbour on a
    sub-domain or a plain-HTTP page cannot set or overwrite it."""
    return f"__Host-{name}" if secure else name


# A secret key must be long and random: at least this many characters, this many different ones, and
# this much Shannon entropy over the whole key (token_hex(32) has ~240 bits, token_hex(16) ~115 and
# never below 90; 32 × "a" has 0).
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 12
SECRET_KEY_MIN_BITS = 90
API_KEY_PEPPER_MIN_LENGTH = 32


def secret_key_bits(key: str) -> float:
    """The key's Shannon entropy in bits (per character, from its own frequencies, times its length)."""
    if not key:
        return 0.0
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    return per_char * len(key)


def secret_key_is_strong(key: str) -> bool:
    """Whether a SECRET_KEY looks random enough to sign sessions in production."""
    return (
        key != DEFAULT_SECRET_KEY
        and len(key) >= SECRET_KEY_MIN_LENGTH
        and len(set(key)) >= SECRET_KEY_MIN_DISTINCT
        and secret_key_bits(key) >= SECRET_KEY_MIN_BITS
    )


def _refuse_problems() -> None:
    """Stop at the first setting that could not be read."""
    if _PROBLEMS:
        raise ConfigError(" ".join(_PROBLEMS))


class Config:
    """Settings shared by every environment; the production values are the safe ones."""

    ENV_NAME = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///legalaid.db")
    # hide_parameters: SQL errors must not carry names, phone numbers or hashes into the logs.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    # A pooled connection idle this long is tested before use (`legalaid.db.ping_when_idle`); one used
    # within it is not: a round trip on every request costs more than the rare failure it would catch.
    POOL_PING_AFTER_IDLE_SECONDS = _float("POOL_PING_AFTER_IDLE_SECONDS", 10)
    # How hard SQLite (the embedded database) syncs each commit to disk; FULL loses no commit in a power cut.
    SQLITE_SYNCHRONOUS = "FULL"
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024  # uploads (spreadsheets) up to 5 MB

    # Sessions: a signed cookie that only names a server-side session row (see auth.services).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SESSION_COOKIE_NAME = _cookie_name("legalaid_session", SESSION_COOKIE_SECURE)
    SESSION_COOKIE_PATH = "/"  # the __Host- prefix needs Path=/ and no Domain
    SESSION_COOKIE_DOMAIN = None
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_int("SESSION_IDLE_MINUTES", 30))
    SESSION_MAX_AGE = timedelta(hours=12)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_NAME = _cookie_name("remember_token", REMEMBER_COOKIE_SECURE)
    REMEMBER_COOKIE_PATH = "/"
    # Strict-Transport-Security on responses served over HTTPS (0 leaves the header out): one year.
    HSTS_SECONDS = _int("HSTS_SECONDS", 365 * 24 * 3600)

    # Login throttling (soft lock), failures within the window: 5 for one account from one address
    # (typos), 10 for one account from anywhere (an attack spread over addresses), 100 for one address
    # whatever the account (a bureau's whole office signs in from one address).
    LOGIN_MAX_FAILURES = 5
    LOGIN_MAX_FAILURES_ACCOUNT = 10
    LOGIN_MAX_FAILURES_ADDRESS = 100
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
    PASSWORD_MIN_LENGTH = 10
    # Administrators must sign in with a second factor (TOTP): one without is sent to enrol first.
    TOTP_REQUIRED_FOR_ADMINS = True
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105  (a method name; werkzeug default, memory-hard)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 3600 * 12

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "legalaid" / "translations")

    # How many reverse proxies (nginx …) stand in front and set X-Forwarded-For.
    PROXY_COUNT = _int("PROXY_COUNT", 0)

    # Outgoing messages (used by the reminders feature).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "legalaid@localhost")
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
    SMS_GATEWAY_KEY = os.environ.get("SMS_GATEWAY_KEY", "")
    SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
    # Approved SMS template ids by message template key, as JSON: {"booking_confirmed": "SMS_1234"}.
    SMS_TEMPLATES: dict = _json("SMS_TEMPLATES")
    # Seconds to wait for the gateway's answer. A message sent without an answer is marked unknown
    # for a person to check, never posted again by itself: set this above the gateway's slowest answer.
    SMS_GATEWAY_TIMEOUT = _float("SMS_GATEWAY_TIMEOUT", 20)
    # Which sender each channel uses; anything unset goes to the log sender.
    SENDERS = {
        "log": "log",
        "email": "smtp" if os.environ.get("MAIL_SERVER") else "log",
        "sms": "sms" if os.environ.get("SMS_GATEWAY_URL") else "log",
        "webhook": "webhook",  # to the URL an administrator registered (legalaid.webhooks)
    }
    # Seconds to wait for a webhook receiver's answer; no answer is a failure, retried later (receivers
    # ignore a Webhook-Id they have seen).
    WEBHOOK_TIMEOUT = _float("WEBHOOK_TIMEOUT", 10)

    # The log sender's file, relative to the instance folder; empty: the process's log only (stderr).
    # Production writes nothing to a web host's disk, so several hosts can serve one database.
    OUTBOX_LOG_FILE = os.environ.get("OUTBOX_LOG_FILE", "")

    # Seconds the public pages keep what rarely changes (legalaid/cache.py, per process): a station with
    # its sessions and the closed days (memo), the kiosk's rendered pages and the hall display's panel for
    # anonymous visitors. A change is seen at once in the process that made it, in the others within these
    # times; a booking always reads the places and closed days afresh. 0 turns one off.
    MEMO_CACHE_SECONDS = _float("MEMO_CACHE_SECONDS", 30)
    PAGE_CACHE_SECONDS = _float("PAGE_CACHE_SECONDS", 2)
    HALL_CACHE_SECONDS = _float("HALL_CACHE_SECONDS", 1)

    # Reminder times of day and day counts (station time), as JSON overriding the defaults in
    # legalaid/reminders/rules.py, e.g. {"duty_eve_at": "16:30", "quiet_start": "20:00"}.
    REMINDER_TIMES: dict = _json("REMINDER_TIMES")

    # A waiting scheduler process tries the single-instance lock this often (seconds).
    SCHEDULER_POLL_SECONDS = _int("SCHEDULER_POLL_SECONDS", 5)
    # Job intervals in seconds, to override the defaults in legalaid/scheduler.py, as JSON.
    SCHEDULER_INTERVALS: dict = _json("SCHEDULER_INTERVALS")

    # The address people use to reach the site, for links in messages sent by the scheduler.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")

    # The right-hand part of every calendar event's UID (duty-shift-42@legalaid): fixed, so a shift is
    # the same event whichever address served the feed. Change it only to tell apart two installations
    # whose feeds one lawyer subscribes to both.
    CALENDAR_UID_DOMAIN = os.environ.get("CALENDAR_UID_DOMAIN", "legalaid")

    # The kiosk returns to its start screen after this many idle seconds (a countdown comes first).
    KIOSK_IDLE_SECONDS = _int("KIOSK_IDLE_SECONDS", 90)
    # The Zinnia model the kiosk's handwriting pad recognises with (Debian tegaki-zinnia-simplified-chinese).
    ZINNIA_MODEL = os.environ.get("ZINNIA_MODEL", "/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model")

    # Anti-automation on the public pages (legalaid/kiosk/limits.py): what one client address or one
    # mobile number may do; an enrolled kiosk (legalaid/kiosk/devices.py) is not limited by address.
    PUBLIC_BOOKINGS_PER_ADDRESS_DAY = _int("PUBLIC_BOOKINGS_PER_ADDRESS_DAY", 3)
    PUBLIC_BOOKINGS_PER_MOBILE_WEEK = _int("PUBLIC_BOOKINGS_PER_MOBILE_WEEK", 3)
    PUBLIC_CHANGES_PER_ADDRESS_DAY = _int("PUBLIC_CHANGES_PER_ADDRESS_DAY", 5)
    PUBLIC_CHANGES_PER_MOBILE_DAY = _int("PUBLIC_CHANGES_PER_MOBILE_DAY", 5)
    PUBLIC_WALKINS_PER_ADDRESS_DAY = _int("PUBLIC_WALKINS_PER_ADDRESS_DAY", 3)
    # Messages one veteran's mobile or e-mail address may get in a day, whatever the cause.
    MESSAGES_PER_RECIPIENT_DAY = _int("MESSAGES_PER_RECIPIENT_DAY", 5)
    # /kiosk opens only on a device an administrator enrolled (/admin/kiosks).
    KIOSK_ENROLMENT_REQUIRED = _bool("KIOSK_ENROLMENT_REQUIRED", True)
    # Keys of the personal data encrypted at rest (legalaid/crypto.py): Fernet keys, the first encrypts,
    # all decrypt (`flask keys rotate` moves everything to the first); and the key of the look-up hashes.
    DATA_KEYS = os.environ.get("DATA_KEYS", "")
    DATA_HASH_KEY = os.environ.get("DATA_HASH_KEY", "")
    # The key of the API keys' HMAC (legalaid/api/services.py): apart from SECRET_KEY, so rotating the
    # sessions' secret does not stop every API key; changing it does.
    API_KEY_PEPPER = os.environ.get("API_KEY_PEPPER", "")

    # A sent message's address and wording are emptied this many days later (retention job).
    OUTBOX_PAYLOAD_KEEP_DAYS = _int("OUTBOX_PAYLOAD_KEEP_DAYS", 30)

    TEMPLATES_AUTO_RELOAD = False

    @classmethod
    def check(cls, app_config: dict) -> None:
        """Refuse to start with settings that are unsafe for this environment."""
        _refuse_problems()
        key = app_config.get("SECRET_KEY") or ""
        if not secret_key_is_strong(key):
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(too short, too repetitive or the default is refused; "
                "for example: python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        from legalaid.crypto import check_keys  # here: legalaid imports this module

        problem = check_keys(app_config)
        if problem:
            raise ConfigError(problem)
        if len(str(app_config.get("API_KEY_PEPPER") or "")) < API_KEY_PEPPER_MIN_LENGTH:
            raise ConfigError(
                "API_KEY_PEPPER must be set to a random value of at least 32 characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))')."
            )


class DevelopmentConfig(Config):
    """Local use with `make run`: plain HTTP on 127.0.0.1, a secret kept under instance/."""

    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    SESSION_COOKIE_NAME = _cookie_name("legalaid_session", SESSION_COOKIE_SECURE)
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_NAME = "remember_token"
    KIOSK_ENROLMENT_REQUIRED = _bool("KIOSK_ENROLMENT_REQUIRED", False)  # the demo's /kiosk link works
    OUTBOX_LOG_FILE = os.environ.get("OUTBOX_LOG_FILE", "outbox.log")  # instance/outbox.log, to read

    @classmethod
    def check(cls, app_config: dict) -> None:
        """Give the development site a stable secret shared by every worker process."""
        _refuse_problems()
        if app_config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
            app_config["SECRET_KEY"] = _instance_secret()


class TestConfig(Config):
    """Settings for the test suite; the database URL is given by the fixture."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"  # noqa: S105
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "legalaid_session"
    KIOSK_ENROLMENT_REQUIRED = False
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_NAME = "remember_token"
    OUTBOX_LOG_FILE = "outbox.log"  # under each test's own instance folder
    # One cheap iteration: the suite tests behaviour, not the cost of hashing (each scrypt account
    # cost 0.15–0.23 s). Never outside tests.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"  # noqa: S105  (a method name)
    # Most tests sign administrators in with a password alone; the TOTP tests switch this on.
    TOTP_REQUIRED_FOR_ADMINS = False
    # Each test's database is thrown away: a commit need not wait for the disk.
    SQLITE_SYNCHRONOUS = "OFF"

    @classmethod
    def check(cls, app_config: dict) -> None:
        """Tests run with their own fixed key."""


def _instance_secret() -> str:
    """Read (or create once) a random secret under the instance folder."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner only (os.open's mode, whatever the umask adds).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    else:
        path.chmod(0o600)  # a copy made before this rule
    return path.read_text().strip()


CONFIGS = {
    "production": Config,
    "development": DevelopmentConfig,
    "test": TestConfig,
}


def config_from_env() -> type[Config]:
    """Choose the settings class named by LEGALAID_ENV (production by default)."""
    name = os.environ.get("LEGALAID_ENV", "production")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"LEGALAID_ENV must be one of {sorted(CONFIGS)}, not {name!r}.") from None
