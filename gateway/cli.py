"""``flask --app wsgi …`` commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from channels import hotline
from config.settings import ROOT
from gateway import auth, calllog, directory
from gateway.constants import Role
from gateway.exceptions import CallLogError
from gateway.services import services
from gateway.services import session as db_session

db_cli = AppGroup("db", help="Database schema (Alembic).")


def alembic_config(url: str) -> Config:
    """Alembic configuration for ``url`` using the project's migrations."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` (idempotent)."""
    command.upgrade(alembic_config(url), revision)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Migrate DATABASE_URL to REVISION (default: the current schema)."""
    url = services().settings.database_url
    upgrade(url, revision)
    click.echo(f"database at {services().engine.url.render_as_string(hide_password=True)} is at {revision}")


users_cli = AppGroup("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "display_name", default="", help="Display name (default: the username).")
@click.option("--agency", "agency_code", default=None, help="Agency code, for agency staff.")
@click.password_option(help="Prompted for when not given (or read from stdin with --password -).")
def create_user_command(username: str, role: str, display_name: str, agency_code: str | None, password: str) -> None:
    """Create a staff account (password hashed with scrypt)."""
    if password == "-":
        password = sys.stdin.readline().rstrip("\n")
    try:
        user = auth.create_user(db_session(), username=username, password=password, role=Role(role),
                                display_name=display_name, agency_code=agency_code)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.role.value} {user.username}")


@click.command("import-calls")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cdr", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The PBX's Asterisk CDR (Master.csv) to check and enrich the calls.")
@click.option("--operator", default=None, help="Record this username as the operator of every call.")
def import_calls_command(file: Path, cdr: Path | None, operator: str | None) -> None:
    """Import keyed calls (CSV or JSON Lines); re-running the same file adds nothing."""
    try:
        rows = hotline.read_keyed_calls(file.read_bytes(), file.name)
        records = hotline.read_cdr(cdr.read_bytes()) if cdr else None
    except CallLogError as exc:
        raise click.ClickException(f"{exc.reason} ({file.name if exc.line else ''} line {exc.line}); "
                                   "nothing was imported") from None
    svc = services()
    with click.progressbar(length=len(rows), label=f"importing {file.name}", file=sys.stderr) as bar:
        report = calllog.import_calls(db_session(), rows=rows, cdr=records, settings=svc.settings,
                                      storage=svc.storage, queue=svc.queue, operator=operator, progress=bar.update)
    for line in report.lines():
        click.echo(line)
    if report.rejected:
        sys.exit(2)


agencies_cli = AppGroup("agencies", help="The agency directory (vCards).")


@agencies_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_agencies_command(files: tuple[Path, ...]) -> None:
    """Import agencies from vCard exports (2.1, 3.0, 4.0; several cards per file)."""
    failed = False
    for path in files:
        cards, problems = directory.read_cards(path.read_bytes())
        result = directory.import_cards(db_session(), cards=cards)
        click.echo(f"{path.name}: {len(result.created)} created, {len(result.updated)} updated, "
                   f"{len(problems)} unreadable")
        for problem in problems:
            click.echo(f"  line {problem.line}: card {problem.name!r} not imported: {problem.reason}")
        for code in result.without_email:
            click.echo(f"  {code}: no email address, cases cannot be routed to it")
        failed = failed or bool(problems)
    if failed:
        sys.exit(2)


def register(app: Flask) -> None:
    """Attach the commands to ``app``."""
    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(import_calls_command)
    app.cli.add_command(agencies_cli)
