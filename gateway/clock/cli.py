"""``flask --app wsgi clock …``: run a tick by hand, show a year's days off."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gateway.clock.calendar import default_calendar
from gateway.clock.jobs import parse_at
from gateway.clock.tick import run_tick
from gateway.services import services
from gateway.services import session as db_session

clock_cli = AppGroup("clock", help="The statutory clock (deadlines, reminders, overdue updates).")


@clock_cli.command("tick")
@click.option("--at", "at", default=None, metavar="ISO-DATETIME",
              help="Evaluate the rules as of this moment (default now; without offset: Vietnamese time).")
@click.option("--force", is_flag=True, help="Run the rules even if a tick already finished that day.")
def tick_command(at: str | None, force: bool) -> None:
    """One tick of all the clock's rules, exactly as the scheduler runs it; idempotent."""
    try:
        moment = parse_at(at)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    counts = run_tick(db_session(), settings=services().settings, at=moment, force=force)
    click.echo(" ".join(f"{name}={value}" for name, value in counts.items()))


@clock_cli.command("days")
@click.argument("year", type=int)
def days_command(year: int) -> None:
    """The weekdays off and the weekend days worked in YEAR (check them against the decision)."""
    for day, name, worked in default_calendar().year(year):
        click.echo(f"{day:%d/%m/%Y} {day:%a} {'làm việc' if worked else 'nghỉ'}  {name}")
