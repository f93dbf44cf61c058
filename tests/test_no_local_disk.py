"""Production keeps nothing on a web host's local disk, so several hosts can serve one database."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config import BASE_DIR as ROOT
from config import Config
from legalaid import create_app
from legalaid.extensions import db
from legalaid.reminders import services as outbox

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def _queue_one() -> None:
    outbox.enqueue(
        kind="test",
        channel="log",
        recipient_type="veteran",
        recipient_id=None,
        address="13812345678",
        template="test",
        params={"station": "解放区站"},
        due_at=NOW,
        dedupe_key="disk",
    )
    db.session.commit()


def test_production_names_no_log_file_and_development_does(monkeypatch):
    monkeypatch.delenv("OUTBOX_LOG_FILE", raising=False)
    # Read in a fresh interpreter: the settings classes read the environment when config is imported.
    code = "import config as c; print(repr((c.Config.OUTBOX_LOG_FILE, c.DevelopmentConfig.OUTBOX_LOG_FILE)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "('', 'outbox.log')"


def test_without_a_file_the_log_sender_writes_to_the_log_and_not_the_disk(app, tmp_path, caplog):
    app.config["OUTBOX_LOG_FILE"] = ""
    folder = tmp_path / "never-made"
    app.instance_path = str(folder)
    _queue_one()
    with caplog.at_level(logging.INFO):
        assert outbox.sweep(NOW).sent == 1
    assert not folder.exists()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("outbox ")]
    assert len(lines) == 1 and "解放区站" in lines[0]
    assert "13812345678" not in lines[0]  # masked, as in the file
    senders = {channel: where for channel, _, where in outbox.sender_configuration()}
    assert senders["log"] == "进程日志（标准错误输出）"


def test_a_production_app_serves_without_touching_its_instance_folder(app_factory, database_url, tmp_path):
    """Pages, a sign-in attempt and a sweep under production settings leave no file behind."""
    app_factory()  # its clean-up empties the tables this test writes to
    app = create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="a9f3c2e17b6d4058e1f2a3b4c5d6e7f8091a2b3c4d5e6f70",
        DATA_KEYS=Fernet.generate_key().decode(),
        DATA_HASH_KEY=Fernet.generate_key().decode(),
        API_KEY_PEPPER=Fernet.generate_key().decode(),
        OUTBOX_LOG_FILE="",
        SESSION_COOKIE_SECURE=False,
        KIOSK_ENROLMENT_REQUIRED=False,
    )
    folder = tmp_path / "instance-never-made"
    app.instance_path = str(folder)
    try:
        client = app.test_client()
        for path in ("/healthz", "/", "/kiosk/", "/booking/", "/login", "/duty/hall"):
            assert client.get(path).status_code in (200, 302, 404), path
        client.post("/login", data={"username": "nobody", "password": "wrong-password-1"})
        with app.app_context():
            _queue_one()
            assert outbox.sweep(NOW).sent == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert not folder.exists()
    assert not list(Path(tmp_path).glob("**/outbox.log"))


@pytest.mark.parametrize("name", ["outbox.log", "logs/outbox.log"])
def test_a_named_file_is_written_under_the_instance_folder(app, tmp_path, name):
    app.config["OUTBOX_LOG_FILE"] = name
    app.instance_path = str(tmp_path)
    _queue_one()
    assert outbox.sweep(NOW).sent == 1
    assert "解放区站" in (tmp_path / name).read_text(encoding="utf-8")
