"""``flask --app wsgi …`` commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from channels import hotline
from config.settings import ROOT
from gateway import auth, calllog, directory, webhooks
from gateway.clock.cli import clock_cli
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
        auth.check_agency(db_session(), role=Role(role), agency_code=agency_code)
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
    """Import keyed calls (CSV or JSON Lines); re-running the same file adds nothing.

    The file is read twice as a stream (memory stays flat): once to check that it can be
    read at all (else nothing is imported), then to import it 500 rows per transaction.
    """
    source = file
    try:
        with file.open("rb") as stream:
            total = hotline.count_keyed_calls(stream, file.name)
        records = None
        if cdr:
            source = cdr
            with cdr.open("rb") as stream:
                records = hotline.read_cdr(stream)
    except CallLogError as exc:
        raise click.ClickException(f"{source.name}, dòng {exc.line}: {exc.reason}; chưa nhập dòng nào") from None
    svc = services()
    with file.open("rb") as stream, click.progressbar(length=total, label=f"importing {file.name}",
                                                      file=sys.stderr) as bar:
        report = calllog.import_calls(db_session(), rows=hotline.iter_keyed_calls(stream, file.name), cdr=records,
                                      settings=svc.settings, storage=svc.storage, operator=operator,
                                      progress=bar.update)
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


@agencies_cli.command("list")
def list_agencies_command() -> None:
    """The directory as a table: code, name, kind, email, certificate status."""
    from gateway.signing import config as signing_config

    config = signing_config.load(services().settings)
    rows = [("CODE", "NAME", "KIND", "EMAIL", "CERTIFICATE")]
    from sqlmodel import select

    from gateway.models import Agency

    for agency in db_session().exec(select(Agency).order_by(Agency.code)).all():
        rows.append((agency.code + ("" if agency.active else " (inactive)"), agency.name, agency.kind or "-",
                     ", ".join(json.loads(agency.emails)) or "(none: cases cannot be routed)",
                     _certificate_state(config.for_agency(agency.code))))
    if len(rows) == 1:
        click.echo("no agencies: flask --app wsgi agencies import config/agencies/*.vcf")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])


def _certificate_state(signer: Any) -> str:
    """One agency's signing state, as ``agencies certificate status`` says it."""
    if signer is None:
        return "none (unsigned answers)"
    if problems := signer.problems():
        return f"cannot sign: {'; '.join(problems)}"
    return f"{signer.kind}{' (development CA)' if signer.development else ''}"


webhooks_cli = AppGroup("webhooks", help="Subscribers to case events (signed POSTs).")


@webhooks_cli.command("add")
@click.argument("url")
@click.option("--events", default=",".join(webhooks.EVENTS), show_default=True,
              help="Comma-separated: " + ", ".join(webhooks.EVENTS))
def webhooks_add_command(url: str, events: str) -> None:
    """Subscribe URL; prints the id and the signing secret (shown only now)."""
    try:
        sub = webhooks.subscribe(db_session(), url=url, events=webhooks.parse_events(events), actor="cli",
                                 allow_private=current_app.extensions["pakn"].settings.webhook_allow_private)
    except webhooks.WebhookError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"subscription {sub.id}: {sub.url} ({', '.join(webhooks.events_of(sub))})")
    click.echo(f"secret: {sub.secret}")


@webhooks_cli.command("list")
def webhooks_list_command() -> None:
    """Every subscription with its state."""
    for sub in webhooks.subscriptions(db_session()):
        state = "removed" if not sub.active else "paused" if sub.paused_at else "active"
        click.echo(f"{sub.id}\t{state}\t{sub.url}\t{','.join(webhooks.events_of(sub))}")


@webhooks_cli.command("remove")
@click.argument("subscription_id", type=int)
def webhooks_remove_command(subscription_id: int) -> None:
    """Stop sending to a subscription (its delivery log stays)."""
    if not webhooks.remove(db_session(), subscription_id=subscription_id):
        raise click.ClickException(f"no active subscription {subscription_id}")
    click.echo(f"subscription {subscription_id} removed")


@webhooks_cli.command("resume")
@click.argument("subscription_id", type=int)
def webhooks_resume_command(subscription_id: int) -> None:
    """Resume a subscription paused after failing for days."""
    if not webhooks.resume(db_session(), subscription_id=subscription_id):
        raise click.ClickException(f"no active subscription {subscription_id}")
    click.echo(f"subscription {subscription_id} resumed")


def register(app: Flask) -> None:
    """Attach the commands to ``app``."""
    from gateway.signing.cli import certificate_cli

    agencies_cli.add_command(certificate_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(import_calls_command)
    app.cli.add_command(agencies_cli)
    app.cli.add_command(clock_cli)
    from gateway.stats.cli import report_cli

    app.cli.add_command(report_cli)
    app.cli.add_command(webhooks_cli)
    from gateway.classifier import commands as classifier_commands  # sklearn is loaded only when used

    classifier_commands.register(app)
