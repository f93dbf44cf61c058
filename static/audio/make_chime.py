"""Make desk-arrival.wav, the soft two-tone chime the desk and the duty console play when someone new
arrives (static/js/live.js). Made once, offline, and committed; run again only to change the sound:

    .venv/bin/python static/audio/make_chime.py
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050  # Hz: plenty for two soft tones, and a small file
PEAK = 0.3  # of full scale: a quiet sound in a quiet office
# Two falling tones (E5, then C5), each fading out like a struck bell.
TONES = ((659.25, 0.0, 0.45), (523.25, 0.3, 0.6))  # (Hz, starts at s, lasts s)
LENGTH = 0.95  # seconds
OUT = Path(__file__).with_name("desk-arrival.wav")


def samples() -> list[int]:
    """The chime as 16-bit samples."""
    out = []
    for n in range(int(RATE * LENGTH)):
        t = n / RATE
        value = 0.0
        for freq, start, length in TONES:
            if start <= t < start + length:
                age = t - start
                attack = min(1.0, age / 0.01)  # a 10 ms rise: no click
                value += attack * math.exp(-4.5 * age / length) * math.sin(2 * math.pi * freq * age)
        out.append(round(max(-1.0, min(1.0, value * PEAK)) * 32767))
    return out


def main() -> None:
    """Write the chime next to this script."""
    with wave.open(str(OUT), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(b"".join(struct.pack("<h", s) for s in samples()))


if __name__ == "__main__":
    main()
