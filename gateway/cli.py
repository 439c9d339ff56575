"""``flask --app wsgi …`` commands."""

from __future__ import annotations

import click
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.cli import AppGroup

from config.settings import ROOT
from gateway.services import services

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


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    app.cli.add_command(db_cli)
