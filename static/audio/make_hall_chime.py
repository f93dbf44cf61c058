"""Make hall-chime.wav, the three-tone "ding-ding-dong" the hall display plays before each spoken call
(static/js/hall.js): louder and brighter than the desk's soft chime, to turn heads across a hall.
Made once, offline, and committed; run again only to change the sound:

    .venv/bin/python static/audio/make_hall_chime.py
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050  # Hz
PEAK = 0.5  # of full scale
# Rising C5, E5, G5, each fading out like a struck bell, the last one longest.
TONES = ((523.25, 0.0, 0.6), (659.25, 0.35, 0.6), (783.99, 0.7, 1.1))  # (Hz, starts at s, lasts s)
LENGTH = 1.85  # seconds
OUT = Path(__file__).with_name("hall-chime.wav")


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
                bell = math.sin(2 * math.pi * freq * age) + 0.3 * math.sin(4 * math.pi * freq * age)
                value += attack * math.exp(-4 * age / length) * bell / 1.3
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
