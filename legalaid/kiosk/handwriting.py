"""Names without a keyboard at the kiosk: handwriting recognised on the server with Zinnia
(routes on the kiosk blueprint).

The pad on the name step (static/js/handwriting.js) posts the strokes drawn so far, as JSON
``{"strokes": [[[x, y], ...], ...], "width": W, "height": H}``, and shows the answer's candidates
(``{"candidates": ["十", "千", ...]}``, best first) as buttons. Recognition runs in this process through
Zinnia's C library (Debian `libzinnia0`) with the Simplified Chinese model of Debian's
`tegaki-zinnia-simplified-chinese`; without them the endpoint answers 503 and the page keeps the pinyin
keyboard and the plain text field. Only the hall's kiosk (/kiosk) offers it: phones have their own
keyboards.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import abort, current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers.response import Response

from legalaid.access import public
from legalaid.kiosk.routes import bp, kiosk_blueprint

log = logging.getLogger(__name__)

DEFAULT_MODEL = "/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model"
LIBRARY_NAMES = ("libzinnia.so.0", "zinnia")
# What one written character can reasonably be: a name character has at most ~25 strokes, and a finger
# sampled at 60 Hz for a few seconds gives a few hundred points. Anything larger is refused before any
# work is done, so one visitor cannot make the server spend its CPU on a made-up drawing.
MAX_STROKES = 30
MAX_POINTS = 3000
MAX_SIDE = 4000  # pixels of the pad, either way
MAX_BODY = 256 * 1024  # bytes of JSON
CANDIDATES = 10


class Unavailable(RuntimeError):
    """Zinnia's library or its model is not installed (or could not be opened)."""


class BadInk(ValueError):
    """The posted drawing is not a drawing this endpoint accepts."""


@dataclass(frozen=True)
class Ink:
    """One character's strokes on a pad of `width` × `height` (points as whole pixels)."""

    strokes: tuple[tuple[tuple[int, int], ...], ...]
    width: int
    height: int


class Recognizer:
    """Zinnia's recognizer with one model opened, used by one thread at a time.

    Zinnia does not document its recognizer as thread-safe, so every classification holds the lock; a
    classification takes a few milliseconds, and the kiosk is one screen.
    """

    def __init__(self, library: ctypes.CDLL, model: str) -> None:
        """Open `model` with the loaded Zinnia `library` (raises Unavailable when it cannot)."""
        self._lib = _declare(library)
        self._lock = threading.Lock()
        self._handle = self._lib.zinnia_recognizer_new()
        if not self._handle:
            raise Unavailable("zinnia_recognizer_new failed")
        if not self._lib.zinnia_recognizer_open(self._handle, model.encode()):
            self._lib.zinnia_recognizer_destroy(self._handle)
            raise Unavailable(f"Zinnia could not open the model {model}")

    def classify(self, ink: Ink, best: int = CANDIDATES) -> list[str]:
        """The characters the drawing most likely is, best first (at most `best`)."""
        lib = self._lib
        with self._lock:
            character = lib.zinnia_character_new()
            if not character:
                raise Unavailable("zinnia_character_new failed")
            try:
                lib.zinnia_character_set_width(character, ink.width)
                lib.zinnia_character_set_height(character, ink.height)
                for number, stroke in enumerate(ink.strokes):
                    for x, y in stroke:
                        lib.zinnia_character_add(character, number, x, y)
                result = lib.zinnia_recognizer_classify(self._handle, character, best)
                if not result:  # Zinnia found nothing to say (e.g. no points at all)
                    return []
                try:
                    size = lib.zinnia_result_size(result)
                    values = (lib.zinnia_result_value(result, i) for i in range(size))
                    return [value.decode("utf-8") for value in values if value]
                finally:
                    lib.zinnia_result_destroy(result)
            finally:
                lib.zinnia_character_destroy(character)


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Give ctypes the C signatures of the Zinnia functions used (pointers stay 64-bit)."""
    ptr, size_t = ctypes.c_void_p, ctypes.c_size_t
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "zinnia_recognizer_new": (ptr, []),
        "zinnia_recognizer_open": (ctypes.c_int, [ptr, ctypes.c_char_p]),
        "zinnia_recognizer_classify": (ptr, [ptr, ptr, size_t]),
        "zinnia_recognizer_destroy": (None, [ptr]),
        "zinnia_character_new": (ptr, []),
        "zinnia_character_set_width": (None, [ptr, size_t]),
        "zinnia_character_set_height": (None, [ptr, size_t]),
        "zinnia_character_add": (ctypes.c_int, [ptr, size_t, ctypes.c_int, ctypes.c_int]),
        "zinnia_character_destroy": (None, [ptr]),
        "zinnia_result_value": (ctypes.c_char_p, [ptr, size_t]),
        "zinnia_result_size": (size_t, [ptr]),
        "zinnia_result_destroy": (None, [ptr]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


def load_library() -> ctypes.CDLL:
    """Zinnia's shared library, or Unavailable when it is not installed."""
    names = [*LIBRARY_NAMES, ctypes.util.find_library("zinnia")]
    for name in filter(None, names):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise Unavailable("Zinnia's library is not installed (Debian package libzinnia0)")


# One recognizer per process and model file: opening the model reads 26 MB.
_recognizers: dict[str, Recognizer] = {}
_opening = threading.Lock()


def recognizer(model: str | None = None) -> Recognizer:
    """The process's recognizer for `model` (default: the app's ZINNIA_MODEL setting), opened once."""
    path = model or current_app.config.get("ZINNIA_MODEL") or DEFAULT_MODEL
    with _opening:
        found = _recognizers.get(path)
        if found is None:
            if not Path(path).is_file():
                raise Unavailable(
                    f"no handwriting model at {path} (Debian package tegaki-zinnia-simplified-chinese)"
                )
            found = _recognizers[path] = Recognizer(load_library(), path)
        return found


def available_anywhere(model: str = DEFAULT_MODEL) -> bool:
    """Whether Zinnia's library loads and the model file is there (no app needed: for tests and checks)."""
    try:
        load_library()
    except Unavailable:
        return False
    return Path(model).is_file()


def available() -> bool:
    """Whether handwriting can be recognised here (the library loads and the model opens)."""
    try:
        recognizer()
    except Unavailable:
        return False
    return True


@bp.context_processor
def handwriting_context() -> dict[str, object]:
    """Let the name step ask whether to offer the handwriting pad (asked only where it is shown)."""
    return {"handwriting_available": available}


def _number(value: object, low: float, high: float) -> int:
    """A finite number within [low, high], as a whole pixel; BadInk otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInk("a coordinate is not a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise BadInk("a coordinate is outside the pad")
    return round(value)


def parse_ink(data: object) -> Ink:
    """The drawing in a request's JSON, checked and bounded (see the module's docstring); BadInk if not."""
    if not isinstance(data, dict):
        raise BadInk("the body is not a JSON object")
    width = _number(data.get("width"), 1, MAX_SIDE)
    height = _number(data.get("height"), 1, MAX_SIDE)
    strokes = data.get("strokes")
    if not isinstance(strokes, list) or not strokes:
        raise BadInk("no strokes")
    if len(strokes) > MAX_STROKES:
        raise BadInk("too many strokes")
    total = 0
    parsed: list[tuple[tuple[int, int], ...]] = []
    for stroke in strokes:
        if not isinstance(stroke, list) or not stroke:
            raise BadInk("a stroke is not a list of points")
        total += len(stroke)
        if total > MAX_POINTS:
            raise BadInk("too many points")
        points = []
        for point in stroke:
            if not isinstance(point, list) or len(point) != 2:
                raise BadInk("a point is not [x, y]")
            points.append((_number(point[0], 0, width), _number(point[1], 0, height)))
        parsed.append(tuple(points))
    return Ink(tuple(parsed), width, height)


@bp.post("/handwriting")
@public
def recognise() -> tuple[Response, int]:
    """The characters a drawing on the kiosk's pad most likely is, best first, as JSON."""
    if kiosk_blueprint() != "kiosk":  # phones keep their own keyboard
        abort(404)
    if (request.content_length or 0) > MAX_BODY:
        return jsonify(error=_("The drawing is too large.")), 400
    request.max_content_length = MAX_BODY  # also for a body sent without a length (chunked)
    try:
        ink = parse_ink(request.get_json(silent=True))
    except RequestEntityTooLarge:
        return jsonify(error=_("The drawing is too large.")), 400
    except BadInk as error:
        return jsonify(error=_("The drawing could not be read."), detail=str(error)), 400
    try:
        candidates = recognizer().classify(ink)
    except Unavailable as error:
        log.warning("handwriting unavailable: %s", error)
        return jsonify(error=_("Handwriting is not available on this kiosk.")), 503
    return jsonify(candidates=candidates), 200
