"""``flask --app wsgi report quarterly YYYY-QN [--format md|xlsx] [--output FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from gateway.exceptions import PeriodError
from gateway.services import session as db_session
from gateway.stats import export, periods
from gateway.stats.compute import compute
from gateway.stats.report import markdown

report_cli = AppGroup("report", help="Reports of the coordinating office.")


@report_cli.command("quarterly")
@click.argument("quarter")
@click.option("--format", "fmt", type=click.Choice(["md", "xlsx"]), default="md", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output for md, bao-cao-YYYY-QN.xlsx for xlsx).")
def quarterly_command(quarter: str, fmt: str, output: Path | None) -> None:
    """The quarter's report (Vietnamese narrative and tables), e.g. ``report quarterly 2026-Q3``."""
    try:
        period = periods.parse_quarter(quarter)
    except PeriodError:
        raise click.BadParameter(f"{quarter!r}: write the quarter as YYYY-QN, e.g. 2026-Q3",
                                 param_hint="QUARTER") from None
    stats = compute(db_session(), period=period)
    if fmt == "md":
        text = markdown(stats)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
    else:
        output = output or Path(f"bao-cao-{period.key}.xlsx")
        output.write_bytes(export.to_xlsx(export.stats_sheets(stats)))
    if output is not None:
        click.echo(f"{period.label}: {stats.received} PAKN tiếp nhận, {stats.in_scope} thuộc phạm vi → {output}",
                   err=True)
