"""In a real browser: the administrator reads the statistics (charts drawn), prints the annual report,
filters the consultation log and reveals one number with a reason (found again in the audit log)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid import demo
from legalaid.audit.models import AuditEntry
from legalaid.extensions import db
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

TODAY = date(2026, 12, 2)


@pytest.fixture
def demo_world(app):
    """The demo data as loaded on 2 December 2026 (a Wednesday), the clock held there."""
    with time_machine.travel(datetime(2026, 12, 2, 2, 0, tzinfo=UTC), tick=True):
        demo.load(today=TODAY)
        db.session.commit()
        yield


def _sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("admin-demo-2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/")


def test_statistics_and_annual_report_render_and_print(live_server, page, demo_world):
    ARTIFACTS.mkdir(exist_ok=True)
    _sign_in(page, live_server)
    # The start page shows this month's figures.
    assert page.get_by_text("本月（2026-12）").is_visible()

    page.get_by_role("button", name="统计报表").click()
    page.get_by_role("link", name="统计分析", exact=True).click()
    page.wait_for_url("**/admin/statistics")
    charts = page.locator("img.chart")
    assert charts.count() == 5
    for index in range(5):
        image = charts.nth(index)
        image.scroll_into_view_if_needed()
        assert image.evaluate("img => img.complete && img.naturalWidth > 300"), index
    monthly = page.locator("#chart-month tbody tr")
    assert monthly.count() == 12  # January to December of this year
    figures = [int(t) for t in page.locator("#chart-month td.text-end").all_inner_texts()]
    assert sum(figures) > 0
    assert not page.console_errors
    page.screenshot(path=str(ARTIFACTS / "statistics.png"), full_page=True)

    page.get_by_role("link", name="年度报告", exact=True).last.click()
    page.wait_for_url("**/admin/reports/annual/2026")
    report = page.locator("article.annual-report")
    assert "2026 年度报告" in report.inner_text() and "统计口径" in report.inner_text()
    assert "每来访一次计一人次" in report.inner_text()
    page.screenshot(path=str(ARTIFACTS / "annual-report.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()  # the menu is not printed
    pdf = ARTIFACTS / "annual-report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.stat().st_size > 10_000


def test_admin_filters_the_log_and_reveals_a_number_with_a_reason(live_server, page, demo_world):
    ARTIFACTS.mkdir(exist_ok=True)
    _sign_in(page, live_server)
    page.goto(f"{live_server}/admin/consultations")
    total = page.locator("text=/共 \\d+ 条咨询记录/").inner_text()
    page.get_by_label("处理结果").select_option("mediation")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**outcome=mediation**")
    filtered = page.locator("text=/共 \\d+ 条咨询记录/").inner_text()
    assert filtered != total
    rows = page.locator("tbody tr")
    assert rows.count() > 0
    for text in rows.locator("td:nth-child(8)").all_inner_texts():
        assert "调解" in text

    first = rows.first
    masked = first.locator(".reveal .font-monospace").inner_text()
    assert "****" in masked
    first.locator("summary").click()
    first.get_by_role("button", name="查看").click()  # no reason chosen: told why, nothing shown
    first.locator(".invalid-feedback").wait_for()
    assert "请选择查看完整号码的原因" in first.inner_text()
    first.get_by_label("查看原因").select_option("callback")
    first.get_by_role("button", name="查看").click()
    first.locator("strong.font-monospace").wait_for()
    full = first.locator("strong.font-monospace").inner_text()
    assert full.isdigit() and len(full) == 11 and full[-4:] == masked[-4:]
    page.screenshot(path=str(ARTIFACTS / "log-reveal.png"), full_page=False)

    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "privacy.reveal").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and entry.actor_name == "admin" and entry.details["reason"] == "callback"
    assert full not in str(entry.details)

    page.goto(f"{live_server}/admin/audit/?action=privacy.reveal")
    assert "查看完整号码" in page.content()
