"""The administrators' menu is written once per language, page and badge and kept (`admin_menu`): each
page still marks itself, the language chosen is the menu's language, and the ratings badge counts what
waits now."""

from __future__ import annotations

import re

import pytest


def _menu(html: str) -> str:
    found = re.search(r'<ul class="navbar-nav me-auto">(.*?)</ul>\s*<ul class="navbar-nav">', html, re.S)
    assert found, "no menu on the page"
    return found.group(1)


def _active_items(html: str) -> list[str]:
    return re.findall(r'class="dropdown-item active" href="([^"]+)"', _menu(html))


@pytest.fixture
def admin(signed_in):
    return signed_in("admin")


def test_each_page_marks_itself_in_the_kept_menu(admin):
    for _ in range(2):  # the second time from what was kept
        log = admin.get("/admin/consultations").get_data(as_text=True)
        assert _active_items(log) == ["/admin/consultations"]
        assert 'class="nav-link dropdown-toggle active" href="#" id="nav-reports"' in _menu(log)
        figures = admin.get("/admin/statistics").get_data(as_text=True)
        assert _active_items(figures) == ["/admin/statistics"]
        desk = admin.get("/desk").get_data(as_text=True)
        assert _active_items(desk) == []
        assert "dropdown-toggle active" not in _menu(desk)


@pytest.mark.parametrize(("code", "words"), [("en", "Consultation log"), ("zh_Hant_TW", "諮詢臺賬")])
def test_the_menu_speaks_the_language_chosen(admin, code, words):
    assert "咨询台账" in _menu(admin.get("/admin/consultations").get_data(as_text=True))
    admin.get(f"/language/{code}?next=/")
    menu = _menu(admin.get("/admin/consultations").get_data(as_text=True))
    assert words in menu and "咨询台账" not in menu


def test_the_badge_counts_what_waits_now(admin, monkeypatch):
    from legalaid.ratings import services

    assert "nav-ratings-flagged" not in admin.get("/admin/consultations").get_data(as_text=True)
    monkeypatch.setattr(services, "flagged_count", lambda: 3)
    menu = _menu(admin.get("/admin/consultations").get_data(as_text=True))
    assert re.search(r'id="nav-ratings-flagged">3<', menu)
