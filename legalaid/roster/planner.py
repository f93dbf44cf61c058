"""The rotation, as a pure function: who takes each duty day, given who is available.

The rule is a queue. Lawyers stand in order of their last duty (least recently on duty first, then
by id). Each open duty day goes to the first lawyer in the queue who is available that day, who then
goes to the back. A closed day uses nobody's turn. A lawyer on leave or outside their contract is
passed over and keeps their place at the front, so they are next once available again — without
"catching up" with several shifts in a row. Fixed shifts (past ones and ones set by hand) are kept
and move their lawyer to the back like any other. Among lawyers available for the whole range, the
picks go round in turn, so their counts differ by at most one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Candidate:
    """A lawyer as the planner sees them."""

    id: int
    contract_start: date
    contract_end: date | None = None
    leave: tuple[tuple[date, date], ...] = field(default_factory=tuple)
    last_duty_on: date | None = None

    def available_on(self, day: date) -> bool:
        """Under contract and not on leave that day."""
        if day < self.contract_start or (self.contract_end is not None and day > self.contract_end):
            return False
        return not any(start <= day <= end for start, end in self.leave)


def plan(
    duty_days: Iterable[date],
    closed: set[date],
    candidates: Iterable[Candidate],
    fixed: dict[date, int] | None = None,
) -> dict[date, int | None]:
    """Assign every open, not-fixed duty day; None where nobody is available."""
    fixed = fixed or {}
    queue = sorted(candidates, key=lambda c: (c.last_duty_on or date.min, c.id))
    assignment: dict[date, int | None] = {}
    for day in sorted(set(duty_days)):
        if day in fixed:
            _to_back(queue, fixed[day])
            continue
        if day in closed:
            continue
        chosen = next((c for c in queue if c.available_on(day)), None)
        assignment[day] = chosen.id if chosen else None
        if chosen:
            _to_back(queue, chosen.id)
    return assignment


def _to_back(queue: list[Candidate], lawyer_id: int) -> None:
    for index, candidate in enumerate(queue):
        if candidate.id == lawyer_id:
            queue.append(queue.pop(index))
            return
