"""The hall's spoken call ("请 A 零零三 号 到 法律服务窗口"), made on the server by espeak-ng in Mandarin:
never a network voice. Made on demand in memory (several app hosts may serve one database, so nothing
is written to disk) and kept in a small in-process cache."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import wave
from functools import lru_cache

# Raised when the number changes what is said: part of the audio's address, so a cached copy lapses.
VOICE_VERSION = 1
# The Mandarin voice that reads Latin letters as pinyin: plain `cmn` in espeak-ng 1.51 reads the pinyin
# it makes from the characters as English words.
VOICE = "cmn-latn-pinyin"
SPEED = 140  # words a minute: slower than the default 175, for an elderly hall
LABEL = re.compile(r"^[AB][0-9]{3,4}$")
DIGITS = "零一二三四五六七八九"
# How a letter is said on its own (as a Chinese speaker names it), in the voice's pinyin.
LETTERS = {"A": "ei1", "B": "bi4"}
WINDOW = "法律服务窗口"
LEAD_IN = 0.25  # seconds of silence before the voice: some TVs wake their speakers late


def available() -> bool:
    """Whether this server can speak the calls (espeak-ng installed)."""
    return shutil.which("espeak-ng") is not None


def words(label: str) -> str:
    """What the hall hears for a queue number: its letter, then each digit one by one."""
    if not LABEL.match(label):
        raise ValueError(f"not a queue number: {label!r}")
    letter, digits = label[0], label[1:]
    return f"请 {LETTERS[letter]} {''.join(DIGITS[int(d)] for d in digits)} 号 到 {WINDOW}"


def call_audio(label: str) -> bytes | None:
    """The spoken call of a queue number as a WAV file, or None when espeak-ng is missing or fails."""
    if not available():
        return None
    return _speak(words(label))


@lru_cache(maxsize=64)
def _speak(text: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", str(SPEED), "--stdout", text],
            capture_output=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return _tidy(done.stdout)


def _tidy(raw: bytes) -> bytes | None:
    """espeak-ng streams its WAV with an unknown length in the header: read the format and the samples
    and write a proper file (with a short lead-in of silence)."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        return None
    at, fmt, samples = 12, None, b""
    while at + 8 <= len(raw):
        chunk, size = raw[at : at + 4], struct.unpack("<I", raw[at + 4 : at + 8])[0]
        if chunk == b"fmt ":
            fmt = struct.unpack("<HHIIHH", raw[at + 8 : at + 24])
        elif chunk == b"data":
            samples = raw[at + 8 :]  # to the end, whatever the header claims
            break
        at += 8 + size + (size & 1)
    if fmt is None or not samples:
        return None
    _format, channels, rate, _rate, _align, bits = fmt
    width = bits // 8
    samples = samples[: len(samples) - len(samples) % (width * channels)]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(b"\0" * int(rate * LEAD_IN) * width * channels + samples)
    return out.getvalue()
