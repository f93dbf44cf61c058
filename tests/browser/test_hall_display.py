"""In a real browser: the hall's TV (叫号屏) fits every screen from 1366×768 to 3840×2160, 16:9 and 4:3,
with the called number whole inside the window and nothing scrolled or cut off; a call from the desk
plays the chime and then the spoken call, a recall plays them again, a pass takes the number off."""

from __future__ import annotations

import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from legalaid.bookings import calling
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, clock_at
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

TODAY = date(2026, 12, 8)  # a Tuesday, a working day
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=zone("Asia/Shanghai"))

clock = clock_at(NOW)

SIZES = [(1366, 768), (1920, 1080), (3840, 2160), (1024, 768), (1600, 1200), (1280, 1024)]
# Where the screenshots asked for by the issue go, besides the test artifacts (when the folder exists).
SHOTS = Path("/tmp/shots")

# Counts the sounds the page plays, and that each one was heard to its end.
COUNT_PLAYS = """
window.__played = [];
window.__ended = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  window.__played.push(this.src);
  if (!this.__counted) {
    this.__counted = true;
    this.addEventListener("ended", () => window.__ended.push(this.src));
  }
  return play.call(this);
};
"""

# Every box the TV shows: inside the window, and its text not cut off by its own box.
FITS = """
() => {
  const out = [];
  const vw = window.innerWidth, vh = window.innerHeight;
  const root = document.scrollingElement;
  const name = (el) => el.className || el.tagName;
  if (root.scrollHeight > vh + 1 || root.scrollWidth > vw + 1) {
    out.push(`page scrolls ${root.scrollWidth}x${root.scrollHeight}`);
  }
  const shown = '.hall-head h1, .today, .hall-duty > *, .call-current > *, .call-recent, .call-recent li';
  for (const el of document.querySelectorAll(shown)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.left < -1 || r.top < -1 || r.right > vw + 1 || r.bottom > vh + 1) {
      out.push(`${name(el)} outside: ${JSON.stringify(r)}`);
    }
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) {
      const sizes = `${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight}`;
      out.push(`${name(el)} clipped: ${sizes}`);
    }
    const box = el.closest('.now-calling, .hall-duty, .hall-head');
    if (box && box !== el) {
      const b = box.getBoundingClientRect();
      if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1) {
        out.push(`${name(el)} outside its panel`);
      }
    }
  }
  return out;
}
"""


def _wait(page, expression: str, seconds: float) -> None:
    """Wait until an expression is true in the page (wait_for_function compiles its predicate with
    eval, which the page's CSP refuses)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(100)


@pytest.fixture
def hall(make_station, make_lawyer):
    """A station with a long name, its duty lawyer today, and five numbers already called."""
    station = make_station("解放区退役军人服务中心法律服务站")
    lawyer = make_lawyer(station, name="欧阳明远")
    roster.set_shift_lawyer(station, TODAY, lawyer, "测试排班")
    db.session.commit()
    for _ in range(6):
        calling.issue_walkin(station, name="王建国")
        db.session.commit()
    for n in range(5):
        calling.call_next(station, now=NOW - timedelta(minutes=10 - n))
        db.session.commit()
    return station


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_hall_display_fits_the_screen(chromium, live_server, hall, width, height):
    context = chromium.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/duty/today?station={hall.id}")
        number = page.locator("#call-number")
        number.wait_for()
        assert number.inner_text() == "A005"
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"hall-{width}x{height}.png"
        page.screenshot(path=str(shot))
        if SHOTS.is_dir():
            shutil.copy(shot, SHOTS / shot.name)
        box = number.bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
        # The number is the big thing: at least a fifth of the screen's height on any TV.
        assert box["height"] >= height * 0.2, box
        name = page.locator(".call-name").bounding_box()
        assert name["y"] >= box["y"] + box["height"] - 1 and name["height"] < box["height"] / 2
        assert page.locator(".call-recent-list li").all_inner_texts() == ["A004", "A003", "A002", "A001"]
        assert "欧阳明远" in page.locator(".hall-duty").inner_text()
        assert page.evaluate(FITS) == []
    finally:
        context.close()


def test_a_call_recall_and_pass_are_heard_and_seen_in_the_hall(chromium, live_server, make_user, hall):
    make_user("staff", username="halldesk", station_id=hall.id)
    # The TV's Chromium as the README launches it: sound without a click.
    tv_browser = chromium.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
    )
    desk_context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    try:
        tv = tv_browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080}).new_page()
        tv.add_init_script(COUNT_PLAYS)
        tv.goto(f"{live_server}/duty/today?station={hall.id}")
        tv.locator("#call-number").wait_for()
        tv.wait_for_timeout(500)
        assert tv.evaluate("window.__played") == []  # what was on screen already is not called again

        desk = desk_context.new_page()
        desk.goto(f"{live_server}/login")
        desk.get_by_label("用户名").fill("halldesk")
        desk.get_by_label("密码").fill(DEFAULT_PASSWORD)
        desk.get_by_role("button", name="登录").click()
        desk.wait_for_url(f"{live_server}/")
        desk.goto(f"{live_server}/desk")
        desk.locator("form[action*='call-next'] button").click()
        called = time.monotonic()
        desk.locator("#desk-calling [data-number='A006']").wait_for()

        tv.locator("#call-number", has_text="A006").wait_for(timeout=10_000)
        _wait(tv, "window.__ended.length >= 2", 20)  # the chime, then the voice, each heard to its end
        played = tv.evaluate("window.__played")
        assert played[0].endswith("/static/audio/hall-chime.wav")
        assert "/duty/calling/voice/A006.wav" in played[1]
        assert "王**" in tv.locator(".call-name").inner_text()

        # 重呼: the same number, heard again. A recall within RECALL_GAP of the call is refused (a double
        # press); the chime and voice can end sooner than that when the TV's poll came right after the call.
        gap = calling.RECALL_GAP.total_seconds() + 0.5 - (time.monotonic() - called)
        desk.wait_for_timeout(max(0.0, gap) * 1000)
        desk.locator("#desk-calling .queue-recall").click()
        desk.get_by_text("重新呼叫 A006。").wait_for()
        _wait(tv, "window.__played.length >= 4", 10)
        assert "/duty/calling/voice/A006.wav" in tv.evaluate("window.__played")[3]
        assert tv.get_attribute("#now-calling", "data-announcements") == "2"
        ARTIFACTS.mkdir(exist_ok=True)
        desk.screenshot(path=str(ARTIFACTS / "desk-calling.png"), full_page=True)
        if SHOTS.is_dir():
            shutil.copy(ARTIFACTS / "desk-calling.png", SHOTS / "desk-calling.png")

        # 过号: off the screen (the one called before shows again), and back into the queue from the desk.
        desk.locator("#desk-calling .queue-pass").click()
        desk.locator("#desk-walkins .queue-requeue").wait_for()
        tv.locator("#call-number", has_text="A005").wait_for(timeout=10_000)
        desk.locator("#desk-walkins .queue-requeue").click()
        desk.locator("#desk-walkins [data-ahead='0']").wait_for()
        assert tv.evaluate("window.__played.length") == 4  # a pass is not announced
    finally:
        desk_context.close()
        tv_browser.close()
