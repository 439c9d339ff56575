"""The Alembic history builds exactly the models' schema, on both engines, idempotently."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from config.settings import Settings
from gateway.cli import upgrade
from gateway.db import make_engine


def test_upgrade_is_idempotent_and_matches_models(settings: Settings) -> None:
    upgrade(settings.database_url)  # already at head: a no-op
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() is not None
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()
