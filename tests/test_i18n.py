"""Languages: Simplified Chinese by default and complete; Traditional Chinese and English on request."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import refresh

from legalaid.consultations.forms import outcome_words
from legalaid.i18n import format_day
from legalaid.stations.forms import weekday_names

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "legalaid" / "translations"


def test_simplified_chinese_is_the_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in html
    assert "登录" in html


@pytest.mark.parametrize(
    ("code", "words"), [("zh_Hant_TW", "登錄"), ("en", "Sign in"), ("zh_Hans_CN", "登录")]
)
def test_the_visitor_chooses_a_language_and_it_is_remembered(client, code, words):
    response = client.get(f"/language/{code}?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert words in client.get("/login").get_data(as_text=True)
    assert words in client.get("/login").get_data(as_text=True)  # the cookie keeps it


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"):
        response = client.get("/language/en", query_string={"next": target})
        assert response.headers["Location"] == "/"


def test_unknown_language_is_ignored(client):
    client.get("/language/xx")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_dates_are_written_the_chinese_way(app):
    with app.test_request_context("/"):
        assert format_day(date(2026, 3, 3)) == "2026年3月3日 星期二"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        refresh()  # the test's app context outlives one request; a real request starts afresh
        assert format_day(date(2026, 3, 3)) == "Tuesday 3 March 2026"
    with app.test_request_context("/", headers={"Cookie": "lang=zh_Hant_TW"}):
        refresh()
        assert format_day(date(2026, 3, 3)) == "2026年3月3日 星期二"


@pytest.mark.parametrize(
    ("code", "outcomes", "weekdays"),
    [
        ("zh_Hans_CN", "法律咨询、调解", "星期二、星期四"),
        ("zh_Hant_TW", "法律諮詢、調解", "星期二、星期四"),
        ("en", "Legal advice, Mediation", "Tuesday, Thursday"),
    ],
)
def test_lists_are_written_as_the_language_writes_them(app, code, outcomes, weekdays):
    # A consultation's outcomes (log, console, exports) and a station's duty days: 、 in Chinese.
    with app.app_context(), app.test_request_context("/", headers={"Cookie": f"lang={code}"}):
        assert outcome_words(["advice", "mediation"]) == outcomes
        assert weekday_names([2, 4]) == weekdays


def _messages(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        catalog = read_po(fh)
    return {m.id: m.string for m in catalog if m.id and not m.fuzzy}


def test_catalogs_are_complete_and_up_to_date(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    wanted = set(_messages(pot))
    assert wanted, "no messages were extracted"
    for language in ("zh_Hans_CN", "zh_Hant_TW"):
        translated = _messages(CATALOGS / language / "LC_MESSAGES" / "messages.po")
        missing = sorted(m for m in wanted if not translated.get(m))
        assert not missing, f"{language} lacks translations (run `make extract-messages`): {missing[:10]}"


def test_back_links_in_forms_stay_on_site(signed_in, make_station):
    from tests.conftest import csrf_token

    station = make_station()
    admin = signed_in("admin")
    page = admin.get(f"/admin/roster/closures?station={station.id}&year=2030").get_data(as_text=True)
    response = admin.post(
        f"/admin/roster/confirm-year?station={station.id}",
        data={
            "csrf_token": csrf_token(page),
            "year": "2030",
            "back": "https://evil.example/",
            "no_closures": "1",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/roster/closures")
