"""The phone pages' "大字" switch (适老化) in real Chromium: it enlarges the text and the controls, raises
the contrast, and is remembered on the device from page to page, until it is switched off."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at

pytestmark = pytest.mark.browser
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai"))
DUTY_DAY = date(2026, 12, 15)

clock = clock_at(NOW)

SIZES = """() => ({
  root: parseFloat(getComputedStyle(document.documentElement).fontSize),
  heading: parseFloat(getComputedStyle(document.querySelector("h1")).fontSize),
  control: document.querySelector(".kiosk-option, .kiosk-btn, button[type=submit]")
    .getBoundingClientRect().height,
  large: document.documentElement.classList.contains("large-text"),
  pressed: document.querySelector("[data-large-text]").getAttribute("aria-pressed"),
})"""


def test_large_text_enlarges_the_phone_pages_and_is_remembered(live_server, page, make_station, make_lawyer):
    station = make_station("大字站")
    roster.set_shift_lawyer(station, DUTY_DAY, make_lawyer(station, name="张明"), "测试排班")
    db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone

    page.goto(f"{live_server}/book/days?station={station.id}")
    before = page.evaluate(SIZES)
    assert not before["large"] and before["pressed"] == "false"
    switch = page.locator("[data-large-text]")
    assert switch.is_visible()
    switch.click()
    after = page.evaluate(SIZES)
    assert after["large"] and after["pressed"] == "true"
    assert after["root"] >= before["root"] * 1.3 and after["heading"] > before["heading"]
    assert after["control"] > before["control"]
    # Contrast: the small grey lines turn black.
    assert page.locator(".kiosk-step").evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 0)"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "large-text-days.png"), full_page=True)

    # Remembered on the device: the next page, the look-up, and after a reload.
    page.goto(f"{live_server}/booking/lookup")
    lookup = page.evaluate(SIZES)
    assert lookup["large"] and lookup["pressed"] == "true" and lookup["root"] == after["root"]
    page.reload()
    assert page.evaluate(SIZES)["large"]
    # Switched off: small again, and remembered so too.
    page.locator("[data-large-text]").click()
    assert not page.evaluate(SIZES)["large"]
    page.goto(f"{live_server}/book/days")
    final = page.evaluate(SIZES)
    assert not final["large"] and final["root"] == before["root"]
    assert page.console_errors == []  # no script or style refused by the CSP
