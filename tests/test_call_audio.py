"""The hall's spoken call is made on the server (espeak-ng, Mandarin), never by a network voice: a call
produces a valid, non-silent WAV, served same-origin with a long private cache; without espeak-ng the
hall plays the chime alone (and CI, REQUIRE_BROWSER=1, fails instead of skipping)."""

from __future__ import annotations

import array
import io
import math
import os
import re
import wave
from datetime import UTC, date, datetime

import pytest
import time_machine

from legalaid.bookings import calling, speech
from legalaid.extensions import db
from legalaid.roster import services as roster

MORNING = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 on a Tuesday in Asia/Shanghai


@pytest.fixture
def needs_espeak() -> None:
    if speech.available():
        return
    reason = "espeak-ng is not installed (apt-get install espeak-ng)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; REQUIRE_BROWSER=1 makes this a failure")
    pytest.skip(reason)


def _levels(data: bytes) -> tuple[float, int, float]:
    """Seconds, peak and RMS (of full scale 32767) of a 16-bit mono WAV."""
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getcomptype()) == (1, 2, "NONE")
        frames = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / wav.getframerate()
    samples = array.array("h", frames)
    peak = max(abs(s) for s in samples)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    return seconds, peak, rms


def test_what_the_hall_hears():
    assert speech.words("A003") == "请 ei1 零零三 号 到 法律服务窗口"
    assert speech.words("B120") == "请 bi4 一二零 号 到 法律服务窗口"
    with pytest.raises(ValueError):
        speech.words("X; rm -rf /")


def test_a_call_produces_a_spoken_wav_that_is_not_silent(needs_espeak):
    data = speech.call_audio("A003")
    assert data is not None and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    seconds, peak, rms = _levels(data)
    assert 1.5 < seconds < 15  # a sentence, not a click nor a runaway
    assert peak > 3000 and rms > 300  # heard across a hall


def test_the_desk_calls_and_the_hall_fetches_the_announcement(
    app, client, needs_espeak, make_station, make_lawyer
):
    station = make_station("语音站")
    roster.set_shift_lawyer(station, date(2026, 3, 10), make_lawyer(station), "排班", today=date(2026, 3, 1))
    calling.issue_walkin(station, now=MORNING)
    db.session.commit()
    calling.call_next(station, now=MORNING)
    db.session.commit()
    with time_machine.travel(MORNING, tick=False):
        panel = client.get(f"/duty/calling?station={station.id}").get_data(as_text=True)
        voice = re.search(r'data-voice="([^"]+)"', panel).group(1).replace("&amp;", "&")
        response = client.get(voice)
    assert voice.startswith("/duty/calling/voice/A001.wav")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
    seconds, peak, _rms = _levels(response.get_data())
    assert seconds > 1.5 and peak > 3000
    assert client.get("/duty/calling/voice/Z999.wav").status_code == 404


def test_without_espeak_the_hall_plays_the_chime_alone(client, monkeypatch):
    monkeypatch.setattr(speech, "available", lambda: False)
    assert speech.call_audio("A001") is None
    assert client.get("/duty/calling/voice/A001.wav").status_code == 503
    chime = client.get("/static/audio/hall-chime.wav")
    _seconds, peak, _rms = _levels(chime.get_data())
    assert chime.status_code == 200 and peak > 3000
