"""A name without a keyboard at the kiosk, in real Chromium at the kiosk's 1080×1920 portrait size:
written by hand on the pad (recognised on the server by Zinnia) and booked with, and typed on the pinyin
keyboard ("王建国" from its keys). The phone pages (/book) keep the phone's own keyboard.

The strokes in tests/data/handwriting/ were recorded by this test: `RECORD_HANDWRITING=1` saves what the
page posts for each character it writes (the mouse draws the strokes on the real pad, point by point).
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from legalaid.bookings.models import Booking
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.kiosk import handwriting
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at
from tests.browser.test_accessibility import BLOCKING, Audit

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("KIOSK_NAME_SHOTS") or ARTIFACTS / "kiosk-name")
DATA = Path(__file__).resolve().parents[1] / "data" / "handwriting"
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai"))  # a Thursday, a working day
DUTY_DAY = date(2026, 12, 15)  # the coming Tuesday

clock = clock_at(NOW)

# Characters as a person writes them: strokes in their order, each a line through points of the box
# (0–1 across, 0–1 down). The mouse moves between the points in small steps, as a finger does.
STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "十": [[(0.15, 0.5), (0.85, 0.48)], [(0.5, 0.12), (0.5, 0.9)]],
    "王": [
        [(0.22, 0.2), (0.78, 0.2)],
        [(0.27, 0.5), (0.73, 0.5)],
        [(0.5, 0.2), (0.5, 0.84)],
        [(0.15, 0.86), (0.85, 0.84)],
    ],
    "口": [
        [(0.3, 0.35), (0.32, 0.68)],
        [(0.3, 0.35), (0.7, 0.33), (0.68, 0.68)],
        [(0.32, 0.66), (0.68, 0.66)],
    ],
    "人": [[(0.5, 0.1), (0.46, 0.42), (0.3, 0.7), (0.13, 0.86)], [(0.49, 0.42), (0.68, 0.68), (0.88, 0.86)]],
    "大": [
        [(0.15, 0.4), (0.85, 0.4)],
        [(0.5, 0.1), (0.47, 0.5), (0.3, 0.75), (0.14, 0.9)],
        [(0.5, 0.5), (0.68, 0.72), (0.87, 0.9)],
    ],
    "中": [
        [(0.2, 0.3), (0.2, 0.65)],
        [(0.2, 0.3), (0.8, 0.3), (0.8, 0.65)],
        [(0.2, 0.62), (0.8, 0.62)],
        [(0.5, 0.1), (0.5, 0.9)],
    ],
    "小": [[(0.5, 0.1), (0.5, 0.85), (0.43, 0.8)], [(0.3, 0.4), (0.2, 0.65)], [(0.7, 0.4), (0.82, 0.65)]],
}


@pytest.fixture
def hall(make_station, make_lawyer):
    """A station with a duty lawyer on the coming Tuesday."""
    station = make_station("解放区退役军人法律服务站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张明")
    roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "测试排班")
    db.session.commit()
    return station


@pytest.fixture
def kiosk(chromium):
    """A page at the kiosk's portrait screen size, collecting console errors."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.console_errors = errors
    yield tab
    context.close()


def to_name_step(page, base: str, station_id: int, mount: str = "kiosk") -> None:
    """From the start screen to the name step (a day, its first time, a matter)."""
    page.goto(f"{base}/{mount}/days?station={station_id}")
    page.locator(".kiosk-option").first.click()
    page.locator("a.kiosk-time").first.click()
    page.locator('a[href$="/labour"]').click()
    page.locator("#name").wait_for()
    page.wait_for_load_state()  # the deferred scripts have run


def write(page, character: str) -> dict:
    """Write a character on the pad with the mouse, wait for its candidates, and return what the page
    posted for the last stroke (the whole character)."""
    box = page.locator("#hand-pad").bounding_box()
    assert box is not None
    posted: list[dict] = []
    for stroke in STROKES[character]:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        with page.expect_request("**/kiosk/handwriting") as sent:
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point, steps=12)
            page.mouse.up()
        posted.append(json.loads(sent.value.post_data or "{}"))
    page.locator(f'#hand-candidates [data-candidate="{character}"]').wait_for()
    ink = posted[-1]
    assert len(ink["strokes"]) == len(STROKES[character])
    if os.environ.get("RECORD_HANDWRITING") == "1":
        DATA.mkdir(parents=True, exist_ok=True)
        record = json.dumps({"character": character, **ink}, ensure_ascii=False)
        (DATA / f"{character}.json").write_text(record + "\n", encoding="utf-8")
    return ink


needs_zinnia = pytest.mark.skipif(
    not handwriting.available_anywhere() and os.environ.get("REQUIRE_BROWSER") != "1",
    reason="Zinnia or its Simplified Chinese model is not installed "
    "(apt-get install libzinnia0 tegaki-zinnia-simplified-chinese)",
)


@needs_zinnia
def test_a_name_written_by_hand_books(live_server, kiosk, hall):
    page = kiosk
    SHOTS.mkdir(parents=True, exist_ok=True)
    to_name_step(page, live_server, hall.id)
    assert page.locator("#name-tools").is_visible()
    assert page.locator("#name-tab-hand").get_attribute("aria-selected") == "true"
    assert page.locator("#name-pinyin").is_hidden()

    for character in STROKES:  # every character the committed data holds, written again
        write(page, character)
        if character == "大":
            page.screenshot(path=str(SHOTS / "handwriting.png"))
            audit = Audit()
            audit(page, "kiosk name by hand")
            assert not any(counts[i] for _n, counts, _d in audit.rows for i in BLOCKING), audit.table()
        page.locator("[data-hand-clear]").click()
        assert page.locator("#hand-candidates [data-candidate]").count() == 0
    assert page.locator("#name").input_value() == ""

    for character in "王大中":  # the name: each written, then chosen among its candidates
        write(page, character)
        page.locator(f'#hand-candidates [data-candidate="{character}"]').click()
        assert page.locator("#hand-candidates [data-candidate]").count() == 0  # the box is clear again
    assert page.locator("#name").input_value() == "王大中"
    page.locator("#name-hand [data-name-delete]").click()
    assert page.locator("#name").input_value() == "王大"
    write(page, "中")
    page.locator('#hand-candidates [data-candidate="中"]').click()

    for digit in "13812345678":
        page.locator(f'.kiosk-keypad button[data-key="{digit}"]').click()
    page.locator('button[name="submit"]').click()  # → about
    page.locator('button[name="submit"]').click()  # → consent
    page.locator("#consent").check()
    page.locator('button[name="submit"]').click()  # → confirm
    assert "王大中" in page.locator(".kiosk-summary").inner_text()
    page.locator('button[name="submit"]').click()
    page.wait_for_url("**/kiosk/ticket")
    booking = db.session.scalar(sa.select(Booking))
    assert booking is not None and booking.name == "王大中"
    assert page.console_errors == []


def test_pinyin_keyboard_types_wang_jianguo(live_server, kiosk, hall):
    page = kiosk
    SHOTS.mkdir(parents=True, exist_ok=True)
    to_name_step(page, live_server, hall.id)
    if page.locator("#name-tab-hand").count():
        page.locator("#name-tab-pinyin").click()
    assert page.locator("#name-pinyin").is_visible()
    assert page.locator("#name-tab-pinyin").get_attribute("aria-selected") == "true"

    def keys(letters: str) -> None:
        for letter in letters:
            page.locator(f'#pinyin-keys .hg-button[data-skbtn="{letter}"]').click()

    for spelling, character in (("wang", "王"), ("jian", "建"), ("guo", "国")):
        keys(spelling)
        assert page.locator("#pinyin-typed").inner_text() == spelling
        on_first_page = page.locator("#pinyin-candidates [data-candidate]").all_inner_texts()
        assert character in on_first_page, (spelling, on_first_page)
        if character == "国":
            page.screenshot(path=str(SHOTS / "pinyin.png"))
            audit = Audit()
            audit(page, "kiosk name in pinyin")
            assert not any(counts[i] for _n, counts, _d in audit.rows for i in BLOCKING), audit.table()
        page.locator(f'#pinyin-candidates [data-candidate="{character}"]').click()
        assert page.locator("#pinyin-typed").inner_text() == ""
    assert page.locator("#name").input_value() == "王建国"

    # Paging, a prefix, a spelling that is nothing, and the keyboard's own backspace.
    keys("zh")
    assert page.locator("#pinyin-candidates [data-candidate]").count() == 10
    first_page = page.locator("#pinyin-candidates [data-candidate]").all_inner_texts()
    assert "张" in first_page
    page.locator("#pinyin-next").click()
    assert page.locator("#pinyin-candidates [data-candidate]").all_inner_texts() != first_page
    page.locator("#pinyin-prev").click()
    assert page.locator("#pinyin-candidates [data-candidate]").all_inner_texts() == first_page
    keys("q")
    assert page.locator("#pinyin-candidates [data-candidate]").count() == 0
    assert page.locator("#pinyin-candidates .name-none").is_visible()
    for _ in "zhq":
        page.locator('#pinyin-keys .hg-button[data-skbtn="{bksp}"]').click()
    assert page.locator("#pinyin-typed").inner_text() == ""
    assert page.locator("#name").input_value() == "王建国"
    page.locator('#pinyin-keys .hg-button[data-skbtn="{bksp}"]').click()  # nothing typed: the name's last
    assert page.locator("#name").input_value() == "王建"
    # The ordinary text field still takes typing (a keyboard attached to the kiosk, or a test).
    page.locator("#name").fill("李卫国")
    assert page.locator("#name").input_value() == "李卫国"
    assert page.console_errors == []


def test_phone_pages_keep_their_own_keyboard(live_server, kiosk, hall):
    to_name_step(kiosk, live_server, hall.id, mount="book")
    assert kiosk.locator("#name-tools").count() == 0
    assert kiosk.locator("#pinyin-keys").count() == 0
    assert kiosk.locator("#name").is_editable()


def test_without_recognition_the_pad_gives_way_to_pinyin(live_server, kiosk, hall):
    page = kiosk
    page.route(  # the server answers as it does when Zinnia is not installed
        "**/kiosk/handwriting",
        lambda route: route.fulfill(status=503, content_type="application/json", body='{"error": "off"}'),
    )
    to_name_step(page, live_server, hall.id)
    if not page.locator("#name-tab-hand").count():
        pytest.skip("the page offers no pad here (Zinnia not installed)")
    box = page.locator("#hand-pad").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 100, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 200, steps=10)
    page.mouse.up()
    page.locator("#name-hand").wait_for(state="detached")
    assert page.locator("#name-tab-hand").count() == 0
    assert page.locator("#name-pinyin").is_visible()
    assert page.locator("#name-tab-pinyin").get_attribute("aria-selected") == "true"
    assert page.locator("#name").is_editable()
