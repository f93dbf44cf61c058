"""`make bench`'s pure parts: reading wrk's output, percentiles, judging targets, the Markdown table, and
the form reader its Python clients use. No load is run here."""

from __future__ import annotations

import json

import pytest

from bench.load import form_fields
from bench.run import (
    Measure,
    Row,
    Settings,
    bench_line,
    combine,
    markdown_table,
    measure_of,
    page_row,
    parse_wrk,
    percentile,
)

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8100/kiosk/days?station=1
  2 threads and 8 connections
  Latency Distribution
     50%    5.10ms
  12000 requests in 10.00s, 80.00MB read
Requests/sec:   1200.00
BENCH {"requests": 12000, "duration_us": 10000000, "p50": 5100.0, "p95": 9800.5, "p99": 15000.0, \
"errors": 0, "bad_status": 0}
"""


def test_wrk_output_is_read_in_milliseconds_and_requests_per_second() -> None:
    """The Lua line gives µs; the measure is in ms, and req/s is requests over the duration."""
    m = parse_wrk(WRK_OUTPUT)
    assert m.rps == pytest.approx(1200.0)
    assert (m.p50, m.p95, m.p99) == pytest.approx((5.1, 9.8005, 15.0))
    assert m.requests == 12000 and m.errors == 0


def test_wrk_errors_count_socket_errors_and_bad_statuses() -> None:
    """Timeouts and 4xx/5xx answers are errors: a page that fails under load does not pass."""
    line = {
        "requests": 10,
        "duration_us": 1_000_000,
        "p50": 1,
        "p95": 1,
        "p99": 1,
        "errors": 2,
        "bad_status": 3,
    }
    m = parse_wrk("BENCH " + json.dumps(line))
    assert m.errors == 5
    assert page_row("x", m, hello_rps=10).met is False


def test_wrk_without_its_line_is_an_error() -> None:
    """A wrk that printed no summary (killed, wrong address) is not silently a zero."""
    with pytest.raises(ValueError, match="no BENCH line"):
        parse_wrk("unable to connect to 127.0.0.1:8100 Connection refused")


def test_percentile_is_nearest_rank() -> None:
    """Nearest rank: p50 of 1..100 is 50, p99 is 99, p100 the largest; none gives 0."""
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) == 0


def test_python_load_measure_and_two_instances_combined() -> None:
    """A Python load's latencies become a measure; two instances add up their throughput and keep the
    worse latency."""
    m = measure_of([10.0] * 90 + [50.0] * 10, seconds=2)
    assert m.rps == 50 and m.p50 == 10 and m.p95 == 50
    both = combine([Measure(100, 1, 2, 3, 1000), Measure(120, 2, 4, 1, 1200, errors=1)])
    assert both.rps == 220 and (both.p50, both.p95, both.p99) == (2, 4, 3)
    assert both.requests == 2200 and both.errors == 1


def test_targets_kiosk_share_of_hello_page_and_report_p95() -> None:
    """Kiosk pages need 25 % of hello and p95 ≤ 100 ms; pages p95 ≤ 100 ms; reports p95 ≤ 200 ms."""
    fast = Measure(rps=300, p50=5, p95=20, p99=30)
    assert page_row("days", fast, hello_rps=1000, kind="kiosk").met is True
    assert page_row("days", fast, hello_rps=1500, kind="kiosk").met is False  # 20 % of hello
    slow = Measure(rps=50, p50=80, p95=150, p99=190)
    assert page_row("desk", slow, hello_rps=1000).met is False
    assert page_row("statistics", slow, hello_rps=1000, kind="report").met is True
    assert "200 ms" in page_row("statistics", slow, 1000, kind="report").target


def test_markdown_table_has_one_line_per_row_and_the_share_of_hello() -> None:
    """One header, one separator, one line per row; timed jobs show their result in words."""
    rows = [
        Row("hello", Measure(2000, 1, 2, 3), target="reference"),
        page_row("kiosk: day list", Measure(500, 4, 9.5, 20), 2000, kind="kiosk"),
        Row("export of 100,000 rows (CSV)", result="3.2 s, peak 150 MB", target="≤ 5 s, ≤ 200 MB", met=True),
        Row("API read", result="no API yet: skipped"),
    ]
    table = markdown_table(rows, hello_rps=2000).splitlines()
    assert table[0].startswith("| endpoint | req/s | % of hello | p50 ms | p95 ms | p99 ms | target | met? |")
    assert len(table) == 2 + len(rows)
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert "| 25.0 % |" in table[3] and "| 9.5 |" in table[3] and table[3].endswith("| yes |")
    assert "3.2 s, peak 150 MB" in table[4] and table[4].endswith("| yes |")
    assert table[5].endswith("| — |")


def test_a_missed_target_stands_out() -> None:
    """A target not met is in bold, so it is seen in a long table."""
    table = markdown_table([page_row("desk", Measure(10, 90, 300, 400), 1000)], 1000)
    assert table.splitlines()[-1].endswith("| **no** |")


def test_bench_line_is_the_last_json_line() -> None:
    """A job's answer is its last BENCH line, whatever it logged before."""
    assert bench_line('noise\nBENCH {"a": 1}\nBENCH {"a": 2}\nmore') == {"a": 2}
    with pytest.raises(ValueError):
        bench_line("Traceback …")


def test_settings_default_to_the_issues_size_and_refuse_nonsense() -> None:
    """100 stations × 10 years × 1000, 10 s, 8 clients, 500 in the rush by default; a bad value stops."""
    s = Settings.from_env({})
    assert (s.stations, s.years, s.per_station_year, s.seconds, s.clients, s.rush_clients) == (
        100, 10, 1000, 10, 8, 500,
    )  # fmt: skip
    assert s.database_url is None and not s.keep and s.instances == 1
    small = Settings.from_env({"BENCH_STATIONS": "3", "BENCH_INSTANCES": "2", "BENCH_KEEP": "1"})
    assert small.stations == 3 and small.instances == 2 and small.keep
    with pytest.raises(SystemExit, match="BENCH_SECONDS"):
        Settings.from_env({"BENCH_SECONDS": "ten"})


def test_form_fields_reads_the_first_post_form() -> None:
    """Hidden and text inputs and textareas of the first POST form; checkboxes and buttons left out."""
    page = """
    <form method="get" action="/search"><input name="q" value="no"></form>
    <form method="post" action="/book/visit">
      <input type="hidden" name="csrf_token" value="tok&amp;en">
      <input type="hidden" name="step" value="about">
      <input name="name" value="王伟">
      <input type="checkbox" name="consent" value="y">
      <textarea name="description">租房押金&lt;纠纷</textarea>
      <button type="submit" name="submit" value="1">Next</button>
    </form>
    <form method="post"><input type="hidden" name="other" value="x"></form>
    """
    assert form_fields(page) == {
        "csrf_token": "tok&en",
        "step": "about",
        "name": "王伟",
        "description": "租房押金<纠纷",
    }
