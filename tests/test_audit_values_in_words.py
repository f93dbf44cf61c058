"""Every kind of value an audit entry may carry reads as words, in Chinese and English: dates, moments,
months, lists, changes, nested filters, odd or malformed values — never a Python value."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from legalaid.audit import labels
from legalaid.audit import wording as _wording  # noqa: F401  (loads every feature's labels)


def _said(action: str, details: dict, locale: str = "zh_Hans_CN") -> list[str]:
    with force_locale(locale):
        return [labels.line_text(line) for line in labels.detail_lines(action, details)]


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


def test_plain_values_read_as_words(request_context):
    with force_locale("zh_Hans_CN"):
        assert labels.plain(None) == "—"
        assert labels.plain(True) == "是" and labels.plain(False) == "否"
        assert labels.plain(3) == "3" and labels.plain(2.5) == "2.5"
        assert labels.plain(["甲", "乙", "丙"]) == "甲、乙和丙"
        assert labels.plain("2026-03-10") == "2026年3月10日 星期二"
        assert labels.plain("2026-03-10 09:30") == "2026年3月10日 星期二 09:30"
        assert labels.plain("2026-03") == "2026年3月"
        assert labels.plain({}) == ""
        assert labels.plain("就是一句话") == "就是一句话"
    with force_locale("en"):
        assert labels.plain(["a", "b", "c"]) == "a, b, and c"


def test_malformed_values_are_shown_as_they_are(request_context):
    with force_locale("zh_Hans_CN"):
        assert labels.day("2026-02-30") == "2026-02-30"
        assert labels.month("2026-13") == "2026-13"
        assert labels.moment("not a time") == "not a time"
        assert labels.listing([]) == ""
        assert "2026年3月10日" in labels.moment("2026-03-10T01:30:00+00:00")  # shown in station time


def test_lists_and_changes_read_as_words(request_context):
    with force_locale("zh_Hans_CN"):
        assert labels.each(labels.day)("2026-03-10") == "2026年3月10日 星期二"  # one value, not a list
        assert labels.change(labels.number)(5) == "5"  # not a pair
        assert labels.change(labels.text)([None, "新地址"]) == "— → 新地址"
        nested = labels.Nested({"year": labels.Detail("年份", labels.number)})
        assert nested("not a dict") == "not a dict"
        assert nested({}) == "无"  # an empty filter says so
        assert "年份" in nested({"year": 2026})


def test_a_station_change_reads_in_the_words_of_its_form(request_context):
    lines = _said(
        "station.update",
        {
            "duty_weekdays": [[2], [2, 4]],
            "sessions": [["09:00–12:00"], ["09:00–12:00", "14:30–17:30"]],
            "slot_minutes": [30, 20],
            "swap_auto_approve": [False, True],
        },
    )
    text = "\n".join(lines)
    assert "星期二 → 星期二和星期四" in text
    assert "30 → 20" in text and "否 → 是" in text
    assert "[" not in text and "False" not in text


def test_days_kept_on_their_old_plan_read_with_their_reason(request_context):
    lines = _said("station.replan", {"days": ["2026-03-10"], "kept": {"2026-03-17": "有人预约"}})
    text = "\n".join(lines)
    assert "2026年3月10日 星期二" in text and "2026年3月17日 星期二（有人预约）" in text
    # Values of an unexpected shape are shown as they are, under their labels.
    assert _said("station.replan", {"kept": "2026-03-17", "days": "soon"}) == [
        "保留原安排的日期：2026-03-17",
        "重新安排的日期：soon",
    ]
