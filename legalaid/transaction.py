"""One commit per unit of work: a web request, a CLI command, a scheduler job.

Services change the session and `flush()`; they never commit. The boundary around the work commits
once when the work returned and rolls back when it raised — as Indico's `RH.process` does — so every
page, command and job saves all or nothing in the same way:

- a request: `LegalAidFlask.dispatch_request` commits after the view returns (a view that shows a
  broken rule has already rolled its work back through `legalaid.forms.attempt`); an exception goes
  to the error pages, which roll back;
- a CLI command: every command of a `CommandGroup` runs inside `unit_of_work()`;
- a scheduler job: `scheduler.run_job` runs the job inside `unit_of_work()`.

The outbox sweep is the one job that commits more than once, by design: it commits each claim before
it talks to a gateway and each outcome after, so a crash never sends a message twice
(`reminders.services.sweep`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from flask import Flask
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue

from legalaid.extensions import db


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did when it finishes; roll it back when it raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


class LegalAidFlask(Flask):
    """Flask, with the request's one commit after the view (the request boundary)."""

    def dispatch_request(self) -> ResponseReturnValue:
        """Run the view, then commit its work; an exception skips the commit (the error page rolls back)."""
        answer = super().dispatch_request()
        db.session.commit()
        return answer


class CommandGroup(AppGroup):
    """A `flask` command group whose every command is one unit of work."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        """Register a command that commits once when it ends well and rolls back when it fails."""
        if len(args) == 1 and callable(args[0]) and not kwargs:  # used bare: @group.command
            return self.command()(args[0])
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Any:
            @wraps(function)
            def run(*a: Any, **kw: Any) -> Any:
                with unit_of_work():
                    return function(*a, **kw)

            return register(run)

        return decorator
