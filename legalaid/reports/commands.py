"""`flask report rebuild-summaries`: the summary tables recomputed from the raw rows (after a bulk load
or a restore; the app keeps them right by itself otherwise)."""

from __future__ import annotations

import time

import click

from legalaid.cli import report_cli
from legalaid.extensions import db
from legalaid.reports import summaries


@report_cli.command("rebuild-summaries")
def rebuild_summaries() -> None:
    """Recompute every report summary table from the consultations, bookings and walk-ins."""
    started = time.perf_counter()
    counts = summaries.rebuild_all(db.session.connection())
    click.echo("Report summaries rebuilt:")
    for table, rows in counts.items():
        click.echo(f"  {table:<24} {rows:>10,}")
    click.echo(f"  in {time.perf_counter() - started:.1f} s")
