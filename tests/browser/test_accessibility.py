"""Accessibility, measured: axe-core (vendored, tests/browser/vendor) on every page a veteran, the desk
or the hall sees — each kiosk step with its errors, the ticket and the walk-in number; the same steps on
a phone at /book; the booking look-up and its result; the desk as staff; the lawyer's console; the hall
display. No page may have a critical or serious violation. A table of counts per page (elements, by
impact) is printed and kept in test-artifacts/accessibility.txt, with a screenshot of every page."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from werkzeug.serving import make_server

from legalaid.bookings import calling, planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import PHONE
from legalaid.dates import local_today
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = ("critical", "serious")
SHOTS = ARTIFACTS / "a11y"
# A Tuesday (the default duty weekday) in the station's zone: the data and the pages never depend on the
# day the tests run. The server thread reads the same patched clock.
NOW = datetime(2026, 12, 8, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
KIOSK = {"width": 1080, "height": 1920}
PHONE_SCREEN = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
TV = {"width": 1920, "height": 1080}


@pytest.fixture
def a11y_server(app_factory) -> Iterator[str]:
    """Like `live_server`, but with the kiosk's usual idle time: with the tests' 6 seconds the countdown
    would cover a kiosk page while axe reads it (the countdown is audited on its own, below)."""
    app = app_factory(KIOSK_IDLE_SECONDS=120)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


class Audit:
    """Runs axe on pages and keeps, per page, the violating elements counted by impact."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, int], list[str]]] = []

    def __call__(self, page, name: str) -> None:
        """Run axe on the page as it is now and record the result under `name`."""
        page.wait_for_load_state("load")
        page.evaluate("() => document.fonts.ready.then(() => true)")
        # The app's CSP allows only its own script files, so `page.add_script_tag` (an inline <script>)
        # is refused. `page.evaluate` runs through the DevTools protocol, which the page's CSP does not
        # govern: axe gets in without loosening the CSP for the app's own scripts (a context with
        # bypass_csp=True would also hide any CSP breakage in the pages under test).
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(AXE_SOURCE + "\n;true")
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        counts = dict.fromkeys(IMPACTS, 0)
        details = []
        for violation in result["violations"]:
            impact = violation["impact"] or "minor"
            counts[impact] += len(violation["nodes"])
            details.append(f"{impact}:{violation['id']}×{len(violation['nodes'])}")
            if impact in BLOCKING:
                for node in violation["nodes"][:5]:
                    checks = node["any"] + node["all"] + node["none"]
                    details.append(f"    {node['target']} {checks[0]['message'] if checks else ''}")
        self.rows.append((name, counts, details))
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SHOTS / f"{len(self.rows):02d}-{name.replace(' ', '_').replace('/', '')}.png"),
            full_page=True,
        )

    def table(self) -> str:
        """The counts per page, as a plain-text table (with the rules found)."""
        width = max(len(name) for name, _counts, _details in self.rows)
        lines = [f"{'page':<{width}}  critical  serious  moderate  minor"]
        for name, counts, _details in self.rows:
            lines.append(
                f"{name:<{width}}  {counts['critical']:>8}  {counts['serious']:>7}  "
                f"{counts['moderate']:>8}  {counts['minor']:>5}"
            )
        totals = {impact: sum(counts[impact] for _n, counts, _d in self.rows) for impact in IMPACTS}
        lines.append(
            f"{'TOTAL':<{width}}  {totals['critical']:>8}  {totals['serious']:>7}  "
            f"{totals['moderate']:>8}  {totals['minor']:>5}"
        )
        lines.append("")
        lines.append(
            "rules (elements):" if any(details for _n, _c, details in self.rows) else "rules: none failed"
        )
        for name, _counts, details in self.rows:
            if details:
                lines.append(f"  {name}:")
                lines.extend(f"    {line}" for line in details)
        return "\n".join(lines)

    def blocking(self) -> list[str]:
        """The pages with a critical or serious violation."""
        return [name for name, counts, _d in self.rows if any(counts[i] for i in BLOCKING)]


def _walk_to_details(page, base: str, prefix: str, station_id: int, audit: Audit | None) -> None:
    """Start → day → time → matter, auditing each step when asked."""
    page.goto(f"{base}/{prefix}/?station={station_id}")
    if prefix == "kiosk":
        if audit:
            audit(page, "kiosk 0 start")
        page.locator("a.kiosk-choice").first.click()
    page.wait_for_url("**/days")
    if audit:
        audit(page, f"{prefix} 1 days")
    # The later duty day (next Tuesday): all its times are free and open to the public.
    page.locator("a.kiosk-option").last.click()
    page.wait_for_url("**/day/*")
    if audit:
        audit(page, f"{prefix} 2 times")
    page.locator("a.kiosk-time").first.click()
    page.wait_for_url("**/slot/*")
    if audit:
        audit(page, f"{prefix} 3 matter")
    page.locator("a.kiosk-category").nth(5).click()  # 劳动争议 (labour)
    page.wait_for_url("**/slot/*/*")


def _type_mobile(page, prefix: str, mobile: str) -> None:
    if prefix == "kiosk":
        page.locator("#name-tools").wait_for()  # the pads above it are shown: the number pad stays put
        for digit in mobile:
            page.locator(f'.kiosk-keypad button[data-key="{digit}"]').click()
    else:
        page.locator("#mobile").fill(mobile)


def _next(page) -> None:
    page.locator('button[name="submit"]').click()
    page.wait_for_load_state("load")


def _book_flow(page, base: str, prefix: str, station_id: int, audit: Audit, mobile: str) -> None:
    """The whole booking flow with its error states, ending on the ticket."""
    _walk_to_details(page, base, prefix, station_id, audit)
    audit(page, f"{prefix} 4 details")
    _next(page)  # nothing typed: the name and the mobile are asked for
    assert page.locator(".kiosk-error").count() >= 1
    assert page.locator("#name").get_attribute("aria-invalid") == "true"
    audit(page, f"{prefix} 4 details (errors)")
    page.locator(".kiosk-more summary").click()  # the optional ID and veteran-card numbers
    audit(page, f"{prefix} 4 details (ID numbers)")
    page.locator("#name").fill("李卫国")
    _type_mobile(page, prefix, mobile)
    _next(page)
    assert page.locator("#description").count() == 1
    audit(page, f"{prefix} 5 about")
    page.locator("#description").fill("单位拖欠工资三个月")
    _next(page)
    audit(page, f"{prefix} 6 consent")
    _next(page)  # not agreed
    assert page.locator(".kiosk-error").count() == 1
    audit(page, f"{prefix} 6 consent (error)")
    page.locator("#consent").check()
    _next(page)
    audit(page, f"{prefix} 6 confirm")
    _next(page)
    page.wait_for_url("**/ticket")
    audit(page, f"{prefix} 7 ticket")


def test_no_critical_or_serious_violation_on_public_desk_and_hall_pages(
    a11y_server, chromium, make_station, make_lawyer, make_user
):
    base = a11y_server
    audit = Audit()
    shutil.rmtree(SHOTS, ignore_errors=True)
    with time_machine.travel(NOW, tick=True):
        station = make_station("解放区退役军人法律服务站", address="服务大厅一楼")
        quiet = make_station("示范区退役军人法律服务站")  # no duty today: the hall shows the next day
        lawyer = make_lawyer(station, name="张明")
        other = make_lawyer(quiet, name="王芳")
        today = local_today(station.timezone)
        assert today == NOW.date()
        shift = roster.set_shift_lawyer(station, today, lawyer, "测试排班")
        roster.set_shift_lawyer(station, today + timedelta(days=7), lawyer, "测试排班")
        roster.set_shift_lawyer(quiet, today + timedelta(days=7), other, "测试排班")
        db.session.commit()
        slot = planning.open_slots(shift, PHONE)[-1]
        bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slot.id,
                name="王建军",
                mobile="13900001111",
                category="pensions",
                channel=PHONE,
                idempotency_key="a11y-desk-booking",
                consent=True,
            )
        )
        calling.issue_walkin(station, "labour", name="赵大爷")
        db.session.commit()
        staff = make_user("staff", display_name="前台小刘", station_id=station.id)

        # -- the kiosk (portrait touch screen) ---------------------------------------------------------
        kiosk = chromium.new_context(locale="zh-CN", viewport=KIOSK)
        page = kiosk.new_page()
        _book_flow(page, base, "kiosk", station.id, audit, "13812345678")
        page.goto(f"{base}/kiosk/reset")
        page.goto(f"{base}/kiosk/day/{shift.id}?full=1")
        audit(page, "kiosk 2 times (now full)")
        _walk_to_details(page, base, "kiosk", station.id, None)  # the same person, the same day again
        page.locator("#name").fill("李卫国")
        _type_mobile(page, "kiosk", "13812345678")
        _next(page)
        _next(page)
        page.locator("#consent").check()
        _next(page)
        _next(page)
        assert page.locator(".kiosk-choice, .kiosk-h1").count() >= 1
        audit(page, "kiosk already booked")
        page.goto(f"{base}/kiosk/?station={station.id}")
        page.locator("form button.kiosk-choice").click()
        page.wait_for_url("**/kiosk/walkin")
        audit(page, "kiosk walk-in number")
        page.evaluate("() => { document.getElementById('kiosk-idle').hidden = false; }")
        audit(page, "kiosk idle countdown")
        page.goto(f"{base}/kiosk/day/999999")
        audit(page, "kiosk error 404")
        page.goto(f"{base}/kiosk/?station={station.id}")
        page.locator('.kiosk-langs a[lang="en"]').click()
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang") == "en"
        audit(page, "kiosk 0 start (English)")
        kiosk.close()

        # -- online, on a phone ------------------------------------------------------------------------
        phone = chromium.new_context(locale="zh-CN", viewport=PHONE_SCREEN, is_mobile=True, has_touch=True)
        page = phone.new_page()
        _book_flow(page, base, "book", station.id, audit, "13712345678")
        code = page.locator(".ticket-code").inner_text()
        page.goto(f"{base}/book/slot/999999")
        audit(page, "book error 404")
        page.goto(f"{base}/booking/lookup")
        audit(page, "lookup form")
        page.locator('.book-header a[lang="zh-Hant-TW"]').click()
        page.wait_for_load_state("load")
        audit(page, "lookup form (Traditional Chinese)")
        page.locator('.book-header a[lang="zh-Hans-CN"]').click()
        page.wait_for_load_state("load")
        page.locator("#code").fill("ZZZZZZ")
        page.locator("#last4").fill("0000")
        page.locator('button[type="submit"]').click()
        page.wait_for_load_state("load")
        audit(page, "lookup (no match)")
        page.locator("#code").fill(code)
        page.locator("#last4").fill("5678")
        page.locator('button[type="submit"]').click()
        page.wait_for_url("**/booking/mine")
        audit(page, "lookup result")
        page.locator("#reason").fill("身体不适")
        page.locator('form[action$="/cancel"] button[type="submit"]').click()
        page.wait_for_url("**/booking/mine")
        assert page.locator(".alert-success").count() == 1
        audit(page, "lookup result (cancelled)")
        phone.close()

        # -- the desk, as staff ------------------------------------------------------------------------
        desk = chromium.new_context(locale="zh-CN", viewport=DESK)
        page = desk.new_page()
        page.goto(f"{base}/login")
        audit(page, "sign in")
        page.locator("#username").fill(staff.username)
        page.locator("#password").fill(DEFAULT_PASSWORD)
        page.locator('form button[type="submit"], form input[type="submit"]').last.click()
        page.wait_for_url(f"{base}/")
        audit(page, "staff home")
        page.goto(f"{base}/desk")
        page.locator(".reveal-control summary").first.click()  # "show full number": asks for a reason
        page.get_by_role("button", name="语言").click()  # the language menu, open
        audit(page, "desk (menus open)")
        page.locator('form[action*="/desk/call-next"] button').click()
        page.wait_for_url("**/desk*")
        audit(page, "desk (calling, message)")
        page.goto(f"{base}/desk/book")
        audit(page, "desk booking by telephone")
        page.locator('#submit, form[novalidate] [type="submit"]').last.click()
        page.wait_for_load_state("load")
        assert page.locator("#name").get_attribute("aria-describedby") == "name-error"
        assert page.locator("#name-error").count() == 1
        audit(page, "desk booking (errors)")
        page.goto(f"{base}/roster/print")
        audit(page, "roster to print")
        desk.close()

        # -- the duty lawyer's console ----------------------------------------------------------------
        console = chromium.new_context(locale="zh-CN", viewport=DESK)
        page = console.new_page()
        page.goto(f"{base}/login")
        page.locator("#username").fill(lawyer.user.username)
        page.locator("#password").fill(DEFAULT_PASSWORD)
        page.locator('form button[type="submit"], form input[type="submit"]').last.click()
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/console")
        audit(page, "duty console")
        console.close()

        # -- the hall display (TV) -----------------------------------------------------------------------
        hall = chromium.new_context(locale="zh-CN", viewport=TV)
        page = hall.new_page()
        page.goto(f"{base}/duty/today?station={station.id}")
        page.locator(".now-calling .call-current:not(.call-idle)").wait_for()
        audit(page, "hall display (duty, calling)")
        page.goto(f"{base}/duty/today?station={quiet.id}")
        audit(page, "hall display (next duty day)")
        hall.close()

    report = audit.table()
    print("\n" + report)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "accessibility.txt").write_text(report + "\n", encoding="utf-8")
    assert not audit.blocking(), "critical or serious accessibility violations on: " + ", ".join(
        audit.blocking()
    )
