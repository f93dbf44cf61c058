"""Hold every Python process a clocked test run starts at the run's clock (see tests/conftest.py).

A `flask scheduler run` subprocess or a multiprocessing "spawn" worker is a new interpreter that
time-machine's travel in the test process does not reach. When the run is held at LEGALAID_TEST_NOW,
the conftest puts this directory first on the children's PYTHONPATH and passes the clock's offset
from the real time, so a child's `now` is the parent's `now`. A child that travels itself still
overrides it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import time

_offset = os.environ.get("LEGALAID_TEST_CLOCK_OFFSET")
if _offset:
    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()

# Then run the sitecustomize this one shadows, if the interpreter has one.
_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here]
)
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
