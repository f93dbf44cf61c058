"""Personal data encrypted at rest (PIPL): ID and card numbers, mobiles and counselling notes.

Columns declared with `Encrypted` / `EncryptedJSON` hold Fernet tokens (AES-128-CBC with an
HMAC-SHA256, from `cryptography`), so the database file, its backups and anyone with read access to
the tables see no plain numbers or notes. The application reads and writes them as plain values.

Keys come from the environment: `DATA_KEYS` is a comma-separated list of Fernet keys, the first one
encrypting, all of them decrypting (that is what lets `flask --app wsgi keys rotate` move every value
to a new key while the old one still reads). `DATA_HASH_KEY` keys the HMAC that lets the application
find a person by mobile (`blind_index`) without storing it in the clear; it is not rotated with the
data keys (every stored index would change), changing it needs `keys rotate` too, which recomputes them.
Development makes its keys once under `instance/` (owner-only); tests derive theirs from the secret.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy.sql import operators

_PREFIX = "enc1:"  # marks a stored token, so a plain value left by an old row is recognised as such
_DEV_KEY_FILE = "data-keys.json"


class DataKeyError(RuntimeError):
    """The data keys are missing or cannot read a stored value."""


def new_key() -> str:
    """A fresh Fernet key, as text for the environment."""
    return Fernet.generate_key().decode()


def _derived(secret: str, purpose: str) -> str:
    """A key derived from the app's secret (tests only: their secret is fixed and public)."""
    digest = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _development_keys(instance: Path) -> dict[str, str]:
    """The development site's keys, made once under instance/ and readable by their owner only."""
    path = instance / _DEV_KEY_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        keys = {"data_keys": new_key(), "hash_key": new_key()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(keys, handle)
    return json.loads(path.read_text())


def configure(config: dict[str, Any], instance: Path) -> None:
    """Fill DATA_KEYS, DATA_HASH_KEY and API_KEY_PEPPER where the environment left them out
    (development and tests); production must set them (config.check refuses to start without them)."""
    _configure_pepper(config, instance)
    if config.get("DATA_KEYS") and config.get("DATA_HASH_KEY"):
        return
    if config.get("TESTING"):
        secret = str(config.get("SECRET_KEY") or "")
        config["DATA_KEYS"] = config.get("DATA_KEYS") or _derived(secret, "data")
        config["DATA_HASH_KEY"] = config.get("DATA_HASH_KEY") or _derived(secret, "hash")
    elif config.get("ENV_NAME") == "development":
        keys = _development_keys(instance)
        config["DATA_KEYS"] = config.get("DATA_KEYS") or keys["data_keys"]
        config["DATA_HASH_KEY"] = config.get("DATA_HASH_KEY") or keys["hash_key"]


def _configure_pepper(config: dict[str, Any], instance: Path) -> None:
    """The API keys' pepper in development and tests: derived, like the data keys, so the keys made
    on a development site keep working across restarts."""
    if config.get("API_KEY_PEPPER"):
        return
    if config.get("TESTING"):
        config["API_KEY_PEPPER"] = _derived(str(config.get("SECRET_KEY") or ""), "api-key-pepper")
    elif config.get("ENV_NAME") == "development":
        config["API_KEY_PEPPER"] = _derived(_development_keys(instance)["hash_key"], "api-key-pepper")


def _split(keys: str) -> list[str]:
    return [key.strip() for key in keys.split(",") if key.strip()]


def check_keys(config: dict[str, Any]) -> str | None:
    """What is wrong with the configured keys, in one sentence, or None."""
    data, hashed = str(config.get("DATA_KEYS") or ""), str(config.get("DATA_HASH_KEY") or "")
    if not _split(data) or not hashed:
        return (
            "DATA_KEYS and DATA_HASH_KEY must be set to encrypt personal data (make each with: "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
    try:
        for key in _split(data):
            Fernet(key)
    except ValueError:
        return "DATA_KEYS must be Fernet keys (32 bytes in URL-safe base64), separated by commas."
    if len(hashed) < 32:
        return "DATA_HASH_KEY must be at least 32 characters long."
    return None


def _fernet(keys: str | None = None) -> MultiFernet:
    return _fernet_of(keys if keys is not None else str(current_app.config.get("DATA_KEYS") or ""))


@functools.lru_cache(maxsize=8)
def _fernet_of(text: str) -> MultiFernet:
    # Made once per set of keys, not once per value: an export or a page of the log reads thousands
    # (an error is not kept: the next call checks again).
    if not _split(text):
        raise DataKeyError("DATA_KEYS is not set.")
    return MultiFernet([Fernet(key) for key in _split(text)])


def encrypt(value: str) -> str:
    """The stored form of a value: a token under the current key."""
    return _PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    """The value behind a stored token (a plain value from before encryption is returned as is)."""
    if not stored.startswith(_PREFIX):
        return stored
    try:
        return _fernet().decrypt(stored[len(_PREFIX) :].encode()).decode()
    except InvalidToken:
        raise DataKeyError("A stored value cannot be read with DATA_KEYS (was a key removed?).") from None


def rotate(stored: str, keys: str | None = None) -> str:
    """The same value under the first key (plain values from before encryption get encrypted)."""
    fernet = _fernet(keys)
    if not stored.startswith(_PREFIX):
        return _PREFIX + fernet.encrypt(stored.encode()).decode()
    return _PREFIX + fernet.rotate(stored[len(_PREFIX) :].encode()).decode()


def is_encrypted(stored: str | None) -> bool:
    """Whether a stored value is a token (for the rotation's counts and the tests)."""
    return bool(stored) and str(stored).startswith(_PREFIX)


def blind_index(value: str | None, key: str | None = None) -> str | None:
    """A keyed hash of a value, to match it exactly without storing it (None stays None)."""
    if value is None or value == "":
        return None
    secret = (key if key is not None else str(current_app.config.get("DATA_HASH_KEY") or "")).encode()
    if not secret:
        raise DataKeyError("DATA_HASH_KEY is not set.")
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


class _NotComparable(sa.types.Text.Comparator[str]):
    """SQL cannot compare encrypted values (each encryption differs): `Veteran.mobile == x` would quietly
    match nothing, so it is refused; match on the keyed hash instead (`Veteran.with_mobile`)."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        """Allow IS NULL / IS NOT NULL, = or != the empty string (stored as it is), and comparing the column
        with a column (SQLAlchemy does, inside)."""
        if op not in (operators.is_, operators.is_not) and not all(
            isinstance(value, sa.ColumnClause) or value == "" for value in other
        ):
            raise TypeError("An encrypted column cannot be compared in SQL; match its keyed hash instead.")
        return super().operate(op, *other, **kwargs)


class Encrypted(sa.types.TypeDecorator[str]):
    """A text column stored encrypted; empty strings and NULL are stored as they are (nothing to hide,
    and an empty counselling note stays cheap)."""

    impl = sa.Text
    cache_ok = True
    comparator_factory = _NotComparable

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        """Encrypt on the way in."""
        return encrypt(value) if value else value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        """Decrypt on the way out."""
        return decrypt(value) if value else value


class EncryptedJSON(sa.types.TypeDecorator[Any]):
    """A JSON value stored encrypted as one token (an edit history that holds counselling notes)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        """Serialise, then encrypt."""
        return None if value is None else encrypt(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        """Decrypt, then read (a plain JSON text from before encryption reads as well)."""
        return None if value is None else json.loads(decrypt(value))
