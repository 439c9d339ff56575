"""``flask --app wsgi classify FILE.jsonl`` and ``flask --app wsgi classifier train``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from gateway.classifier import model as trained
from gateway.classifier.decide import Directory
from gateway.classifier.service import classify_case, demo_directory, directory_from_db
from gateway.exceptions import StaleModelError
from gateway.services import session as db_session

classifier_cli = AppGroup("classifier", help="The trained second opinion of the classifier.")


def _directory() -> Directory:
    """The imported directory; the demo vCards when the database has none (or no schema yet)."""
    try:
        found = directory_from_db(db_session())
    except SQLAlchemyError:
        db_session().rollback()
        found = Directory()
    return found if (found.by_field or found.by_province) else demo_directory()


@click.command("classify")
@click.argument("source", type=click.File("r", encoding="utf-8-sig"))
@click.option("--no-model", is_flag=True, help="Rules only (for comparison).")
@with_appcontext
def classify_command(source: IO[str], no_model: bool) -> None:
    """Classify JSON Lines {"id","title","content"} (FILE or - for stdin); one JSON line out per line in."""
    directory = _directory()
    failed = False
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("content", ""), str):
                raise ValueError("a line must be an object with a string \"content\"")
        except ValueError as exc:
            click.echo(f"line {number}: {exc}", err=True)
            failed = True
            continue
        decision = classify_case(str(item.get("title") or ""), str(item.get("content") or ""), directory=directory,
                                 address=str(item.get("address") or ""), use_model=not no_model)
        click.echo(json.dumps(decision.as_json(item.get("id")), ensure_ascii=False))
    if failed:
        sys.exit(2)


@classifier_cli.command("train")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=trained.TRAIN_PATH,
              show_default=True, help="Labelled JSON Lines to learn from (never the held-out file).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=trained.MODEL_PATH,
              show_default=True)
@click.option("--check", is_flag=True, help="Only check that the artefact was trained on this data (exit 1 if not).")
def train_command(data: Path, output: Path, check: bool) -> None:
    """Train the model from the repository's data and write the artefact with the data's hash."""
    if data.resolve() == trained.HELDOUT_PATH.resolve():
        raise click.UsageError("the held-out file is for evaluation only")
    if check:
        try:
            trained.check(trained.read(output), data)
        except (FileNotFoundError, StaleModelError) as exc:
            click.echo(f"stale: {exc}", err=True)
            sys.exit(1)
        click.echo(f"{output.name} matches {data.name} ({trained.data_hash(data)[:12]}…)")
        return
    started = time.perf_counter()
    items = trained.load_items(data)
    try:
        previous = trained.read(output).data_sha256 if output.exists() else None
    except Exception:  # an unreadable old artefact is simply replaced
        previous = None
    digest = trained.data_hash(data)
    model = trained.train(items, digest)
    size = trained.save(model, output)
    trained.current.cache_clear()
    note = "" if previous in (None, digest) else f" (data changed since the last training: {previous[:12]}…)"
    click.echo(f"trained on {len(items)} items of {data.name} ({digest[:12]}…){note} in "
               f"{time.perf_counter() - started:.1f} s; {output.name}: {size / 1024:.0f} KiB")


def register(app: Flask) -> None:
    """Attach the classifier's commands to ``app``."""
    app.cli.add_command(classify_command)
    app.cli.add_command(classifier_cli)
