"""好差评 in real Chromium: the veteran rates at the kiosk after looking up their booking (big level buttons,
reasons as toggles, thank-you page that resets itself), another rates poorly from the completion message's
link on a phone (the poor reasons appear with a poor level), and the administrator sees the flagged rating
and records the reply. A screenshot of each is kept (test-artifacts/ratings/, or $RATING_SHOTS_DIR)."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.consultations import services as consultations
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.ratings.models import Rating
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("RATING_SHOTS_DIR") or ARTIFACTS / "ratings")
DAY = date(2026, 12, 15)  # a Tuesday
NOW = datetime(2026, 12, 15, 15, 0, tzinfo=zone("Asia/Shanghai"))  # the afternoon of the duty day

clock = clock_at(NOW)


@pytest.fixture
def server(app_factory) -> Iterator[str]:
    """The app over HTTP (a catalogue directory may be given for screenshots in Chinese)."""
    overrides: dict[str, object] = {"KIOSK_IDLE_SECONDS": 60}
    if os.environ.get("RATING_CATALOG_DIR"):
        overrides["BABEL_TRANSLATION_DIRECTORIES"] = os.environ["RATING_CATALOG_DIR"]
    app = app_factory(**overrides)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(5)


@pytest.fixture
def seen(app, make_station, make_lawyer, make_user):
    """Two bookings on DAY, both seen by the duty lawyer and recorded; an administrator."""
    station = make_station("解放区退役军人法律服务站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张明")
    roster.set_shift_lawyer(station, DAY, lawyer, "测试排班", today=date(2026, 12, 1))
    db.session.commit()
    slots = planning.ensure_slots(roster.shift_on(station, DAY))
    db.session.commit()
    made = []
    for slot, (name, mobile) in zip(
        slots, (("李卫国", "13812345678"), ("王芳", "13987654321")), strict=False
    ):
        made.append(
            bookings.place_booking(
                bookings.BookingRequest(
                    slot_id=slot.id,
                    name=name,
                    mobile=mobile,
                    category="labour",
                    channel="kiosk",
                    idempotency_key=secrets.token_hex(16),
                    consent=True,
                ),
                now=datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai")),
            )
        )
    db.session.commit()
    for booking in made:
        record = consultations.Record(category="labour", summary="欠薪三个月", outcomes=["advice"])
        consultations.record_consultation(station, lawyer.user, record, booking=booking, today=DAY)
    db.session.commit()
    make_user("admin", username="chief")
    return {"station": station, "bookings": made}


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_rate_at_the_kiosk_after_the_look_up(server, chromium, seen):
    booking = seen["bookings"][0]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/kiosk/lookup?station={seen['station'].id}")
    # The look-up's pads are another page's business: type the code and the digits straight in.
    page.evaluate(
        """([code, last4]) => {
            for (const [id, value] of [["code", code], ["last4", last4]]) {
                const input = document.getElementById(id);
                input.readOnly = false;
                input.value = value;
            }
            document.querySelector("form[data-pad-steps]").submit();
        }""",
        [booking.code, "5678"],
    )
    page.wait_for_url(f"{server}/kiosk/booking")
    page.locator("#rate-link").click()
    page.wait_for_url(f"{server}/kiosk/rate")
    # Before a level is chosen no reasons show; a good level shows the good ones only.
    assert page.locator('[data-reasons="good"]').is_hidden()
    page.locator(".rate-level-5").click()
    assert page.locator('[data-reasons="good"]').is_visible()
    assert page.locator('[data-reasons="poor"]').is_hidden()
    page.locator('.rate-toggle:has(input[value="warm"])').click()
    page.locator('.rate-toggle:has(input[value="expert"])').click()
    box = page.locator(".rate-level-5").bounding_box()
    assert box is not None and box["height"] >= 120  # a big touch target
    _shot(page, "rate-kiosk")
    page.locator("#rate-send").click()
    page.wait_for_url(f"{server}/kiosk/rated")
    _shot(page, "rate-kiosk-thanks")
    assert page.locator("#rate-message").is_visible()
    assert not errors, errors
    context.close()
    rating = db.session.scalar(sa.select(Rating))
    assert (rating.level, rating.channel, sorted(rating.reasons)) == (5, "kiosk", ["expert", "warm"])


def test_rate_from_the_phone_link_and_the_administrator_replies(server, chromium, seen):
    message = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "consultation_done").order_by(OutboxMessage.id)
    ).all()[1]
    link = urlsplit(message.params["link"]).path
    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + link)
    assert "张明" in page.content() and "王芳" not in page.content()
    page.locator(".rate-level-2").click()
    assert page.locator('[data-reasons="poor"]').is_visible()
    assert page.locator('[data-reasons="good"]').is_hidden()
    page.locator('.rate-toggle:has(input[value="long_wait"])').click()
    page.locator("#comment").fill("等了一个多小时才轮到我。")
    _shot(page, "rate-phone")
    page.locator("#rate-send").click()
    page.wait_for_url(server + link)
    assert page.locator("#rate-message").is_visible() and page.locator("#rate-form").count() == 0
    _shot(page, "rate-phone-thanks")
    assert not errors, errors
    phone.close()

    admin = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    page.goto(f"{server}/login")
    page.locator("#username").fill("chief")
    page.locator("#password").fill(DEFAULT_PASSWORD)
    page.locator("form input[type=submit]").first.click()
    page.wait_for_url(f"{server}/")
    assert page.locator("#nav-ratings-flagged").inner_text().startswith("1")
    page.goto(f"{server}/admin/ratings")
    rating = db.session.scalar(sa.select(Rating))
    row = page.locator(f"#rating-{rating.id}")
    assert row.is_visible()
    _shot(page, "ratings-admin-list")
    row.get_by_role("link").click()
    page.locator("#reply").fill("已电话回访，向当事人说明当天排队原因并致歉；已建议增加下午时段。")
    _shot(page, "ratings-admin")
    page.locator("#reply-send").click()
    page.locator("#rating-reply").wait_for()
    assert page.locator("#nav-ratings-flagged").count() == 0
    _shot(page, "ratings-admin-replied")
    # The statistics count it: one rating, poor, answered, in December, for 张明.
    page.goto(f"{server}/admin/statistics?start_on=2026-01-01&end_on=2026-12-31")
    report = page.locator("#ratings-report")
    assert "张明" in report.locator("#ratings-by-lawyer").inner_text()
    report.screenshot(path=str(SHOTS / "ratings-statistics.png"))
    admin.close()
