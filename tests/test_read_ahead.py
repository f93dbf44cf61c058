"""Reading ahead (an export's batches read in a thread while the last is written): every batch in order,
on a connection of its own, an error raised where the batches are read, and nothing left running."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from legalaid.db import read_ahead
from legalaid.extensions import db


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "read-ahead"]


def test_every_batch_comes_in_order_from_a_session_of_its_own(app):
    mine = db.session()
    seen: list[object] = []

    def batches():
        for n in range(5):
            seen.append(db.session())  # the thread's own session, in its own app context
            yield [n, db.session.execute(sa.text("SELECT :n"), {"n": n * 10}).scalar()]

    assert list(read_ahead(batches)) == [[n, n * 10] for n in range(5)]
    assert seen and all(session is not mine for session in seen)
    assert not _reader_threads()


def test_an_error_while_reading_is_raised_to_the_caller(app):
    def batches():
        yield [1]
        raise ValueError("the database went away")

    got = read_ahead(batches)
    assert next(got) == [1]
    with pytest.raises(ValueError, match="went away"):
        next(got)
    assert not _reader_threads()


def test_a_caller_that_stops_early_stops_the_reader(app):
    made: list[int] = []

    def batches():
        for n in range(1000):
            made.append(n)
            yield [n]

    got = read_ahead(batches)
    assert next(got) == [0]
    got.close()  # the caller stopped (an error while writing, a client gone)
    assert not _reader_threads()
    assert len(made) <= 3  # one handed over, one waiting, one being made: never the whole log
