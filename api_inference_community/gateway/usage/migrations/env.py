"""Alembic's environment: migrates the connection `migrate` hands over, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from api_inference_community.gateway.usage.database import make_engine
from api_inference_community.gateway.usage.schema import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # `alembic upgrade --sql`: the SQL, printed
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        run(given)
    else:
        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
        with engine.begin() as connection:
            run(connection)
        engine.dispose()
