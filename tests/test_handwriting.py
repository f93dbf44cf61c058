"""Names without a keyboard at the kiosk: handwriting recognised on the server by Zinnia (strokes
recorded from the real pad in Chromium, tests/data/handwriting/), its refusals of bad input, the page
without Zinnia, and the pinyin keyboard's table (the committed file is what its script makes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from legalaid.bookings.models import Slot
from legalaid.extensions import db
from legalaid.kiosk import handwriting
from legalaid.roster import services as roster
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "handwriting"
RECORDED = sorted(DATA.glob("*.json"))
DAY = date(2026, 3, 10)


def _require_zinnia() -> None:
    """Skip where Zinnia is not installed; in CI (REQUIRE_BROWSER=1) that is a failure instead."""
    if handwriting.available_anywhere():
        return
    reason = "Zinnia or its model is missing (apt-get install libzinnia0 tegaki-zinnia-simplified-chinese)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; REQUIRE_BROWSER=1 makes this a failure")
    pytest.skip(reason)


@pytest.fixture
def name_step(app, make_station, make_lawyer):
    """The address of the kiosk's name step for a booked-ahead duty day."""
    station = make_station("自助站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    slot_id = db.session.scalar(sa.select(Slot.id).where(Slot.shift_id == shift.id).order_by(Slot.starts_at))
    return f"/kiosk/slot/{slot_id}/labour?station={station.id}"


def _token(client, name_step: str) -> str:
    return csrf_token(client.get(name_step).get_data(as_text=True))


def _post(client, token: str, body: object, path: str = "/kiosk/handwriting", raw: bytes | None = None):
    return client.post(
        path,
        data=raw if raw is not None else json.dumps(body),
        headers={"X-CSRFToken": token},
        content_type="application/json",
    )


def test_the_recorded_strokes_are_there():
    assert {path.stem for path in RECORDED} >= {"十", "王", "口", "人", "大"}
    for path in RECORDED:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["character"] == path.stem
        assert record["width"] == record["height"] == 560
        assert sum(len(stroke) for stroke in record["strokes"]) > 10 * len(record["strokes"])  # drawn


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_a_written_character_is_among_the_first_candidates(client, name_step, path):
    _require_zinnia()
    record = json.loads(path.read_text(encoding="utf-8"))
    token = _token(client, name_step)
    response = _post(client, token, {k: record[k] for k in ("strokes", "width", "height")})
    assert response.status_code == 200, response.get_data(as_text=True)
    candidates = response.get_json()["candidates"]
    assert len(candidates) == handwriting.CANDIDATES
    assert record["character"] in candidates[:5], candidates


def test_the_name_step_offers_the_pad_only_at_the_kiosk(client, name_step):
    _require_zinnia()
    kiosk = client.get(name_step).get_data(as_text=True)
    assert 'id="hand-pad"' in kiosk and 'id="pinyin-keys"' in kiosk
    assert 'data-recognise-url="/kiosk/handwriting"' in kiosk
    assert "simple-keyboard-3.8.192/index.modern.js" in kiosk
    phone = client.get(name_step.replace("/kiosk/", "/book/")).get_data(as_text=True)
    assert 'id="name"' in phone and "name-tools" not in phone and "simple-keyboard" not in phone


def test_phones_have_no_handwriting_endpoint(client, name_step):
    token = _token(client, name_step)
    stroke = {"strokes": [[[1, 1], [5, 5]]], "width": 10, "height": 10}
    assert _post(client, token, stroke, path="/book/handwriting").status_code == 404


def test_without_the_csrf_token_nothing_is_recognised(client, name_step):
    client.get(name_step)
    response = client.post("/kiosk/handwriting", json={"strokes": [[[1, 1]]], "width": 10, "height": 10})
    assert response.status_code == 302 and not response.is_json


BAD = {
    "not an object": [1, 2],
    "no strokes": {"strokes": [], "width": 100, "height": 100},
    "strokes not a list": {"strokes": "十", "width": 100, "height": 100},
    "an empty stroke": {"strokes": [[]], "width": 100, "height": 100},
    "a point not a pair": {"strokes": [[[1, 2, 3]]], "width": 100, "height": 100},
    "a point as text": {"strokes": [[["1", "2"]]], "width": 100, "height": 100},
    "a point as true": {"strokes": [[[True, 2]]], "width": 100, "height": 100},
    "outside the pad": {"strokes": [[[1, 101]]], "width": 100, "height": 100},
    "negative": {"strokes": [[[-1, 5]]], "width": 100, "height": 100},
    "no width": {"strokes": [[[1, 1]]], "height": 100},
    "zero height": {"strokes": [[[0, 0]]], "width": 100, "height": 0},
    "a huge pad": {"strokes": [[[1, 1]]], "width": 10**9, "height": 100},
    "too many strokes": {"strokes": [[[1, 1]]] * (handwriting.MAX_STROKES + 1), "width": 100, "height": 100},
    "too many points": {"strokes": [[[1, 1]] * 2000, [[2, 2]] * 1001], "width": 100, "height": 100},
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_bad_input_is_refused_plainly(client, name_step, body):
    token = _token(client, name_step)
    response = _post(client, token, body)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"strokes": [[[NaN, 1]]], "width": 10, "height": 10}',
        b'{"strokes": [[[Infinity, 1]]], "width": 10, "height": 10}',
        b'{"strokes": [[[1, 1]]], "width": 10, "height": 10, "pad": "' + b"x" * (300 * 1024) + b'"}',
    ],
    ids=["not json", "NaN", "Infinity", "too large"],
)
def test_bad_bytes_are_refused_plainly(client, name_step, raw):
    token = _token(client, name_step)
    response = _post(client, token, None, raw=raw)
    assert response.status_code == 400 and response.is_json


def test_without_the_model_it_answers_503(client, name_step, app, tmp_path):
    app.config["ZINNIA_MODEL"] = str(tmp_path / "none.model")
    token = _token(client, name_step)
    response = _post(client, token, {"strokes": [[[1, 1], [9, 9]]], "width": 10, "height": 10})
    assert response.status_code == 503 and response.get_json()["error"]
    assert not handwriting.available()


def test_without_the_library_it_answers_503(client, name_step, app, tmp_path, monkeypatch):
    model = tmp_path / "model"
    model.write_bytes(b"")

    def no_library():
        raise handwriting.Unavailable("libzinnia0 is not installed")

    monkeypatch.setattr(handwriting, "load_library", no_library)
    app.config["ZINNIA_MODEL"] = str(model)
    token = _token(client, name_step)
    response = _post(client, token, {"strokes": [[[1, 1], [9, 9]]], "width": 10, "height": 10})
    assert response.status_code == 503 and response.get_json()["error"]
    page = client.get(name_step).get_data(as_text=True)
    assert 'id="hand-pad"' not in page and 'id="name-tab-hand"' not in page
    assert 'id="pinyin-keys"' in page and 'id="name"' in page  # the pinyin keyboard and the text field stay


def test_a_model_zinnia_cannot_open_is_unavailable(tmp_path):
    _require_zinnia()
    model = tmp_path / "broken.model"
    model.write_bytes(b"not a model")
    with pytest.raises(handwriting.Unavailable):
        handwriting.recognizer(str(model))
    assert handwriting.available_anywhere(str(tmp_path / "none.model")) is False


def test_the_recogniser_is_opened_once_and_reads_synthetic_strokes():
    _require_zinnia()
    first = handwriting.recognizer(handwriting.DEFAULT_MODEL)
    assert handwriting.recognizer(handwriting.DEFAULT_MODEL) is first
    across = tuple((x, 150) for x in range(50, 251, 10))
    down = tuple((150, y) for y in range(50, 251, 10))
    assert first.classify(handwriting.Ink((across, down), 300, 300))[0] == "十"
    assert first.classify(handwriting.Ink((across,), 300, 300), best=3)[0] == "一"


# The pinyin keyboard's table.

TABLE = ROOT / "static" / "js" / "pinyin-table.json"


def test_the_committed_pinyin_table_is_what_the_script_makes():
    pytest.importorskip("pypinyin", reason="the dev extras make the table (pip install -e '.[dev]')")
    pytest.importorskip("ngender", reason="the dev extras make the table (pip install -e '.[dev]')")
    made = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "make-pinyin-table"), "--stdout"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert made == TABLE.read_text(encoding="utf-8"), "run bin/make-pinyin-table and commit the table"


def test_the_pinyin_table_offers_names_on_the_first_page():
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    syllables = {key: value.replace("|", "") for key, value in table["syllables"].items()}
    assert len(table["order"]) >= 3755  # GB2312 level 1, and name characters beyond it
    first_page = {  # the keyboard shows 10 a page
        "wang": "王",
        "jian": "建",
        "guo": "国郭",
        "li": "李",
        "zhang": "张",
        "ming": "明",
        "hua": "华",
        "jun": "军",
        "lv": "吕",
        "zeng": "曾",
        "wei": "魏伟卫",
        "ting": "婷",
    }
    for syllable, characters in first_page.items():
        for character in characters:
            assert character in syllables[syllable][:10], (syllable, syllables[syllable][:10])
    assert syllables["wang"][0] == "王" and syllables["li"][0] == "李" and syllables["zhang"][0] == "张"
    # A rare reading comes after every usual one: 于 is read wei only in old texts.
    assert table["syllables"]["wei"].index("于") > table["syllables"]["wei"].index("|")
