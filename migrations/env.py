import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from practice.extensions import refresh_statistics
from practice.row_security import grant_app_role

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    """The tables' owner runs the migrations: DATABASE_OWNER_URL, or the app's own URL."""
    owner_url = current_app.config.get("DATABASE_OWNER_URL")
    if owner_url:
        return create_engine(owner_url, poolclass=NullPool)
    return current_app.extensions["migrate"].db.engine


def grant_to_app(connection) -> None:
    """The app's role (DATABASE_URL's user, when it is not the owner) gets its grants."""
    if connection.dialect.name != "postgresql" or not current_app.config.get("DATABASE_OWNER_URL"):
        return
    app_role = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).username
    owner = connection.exec_driver_sql("SELECT current_user").scalar()
    if app_role and app_role != owner:
        grant_app_role(connection, app_role, current_app.config["DATABASE_UNSCOPED_ROLE"])
        connection.commit()


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def render_item(type_, obj, autogen_context):
    """Write our column types as plain SQLAlchemy ones, so migrations import nothing of ours."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("compare_type", True)

    connectable = get_engine()

    with connectable.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations rebuild SQLite tables; with foreign keys on, dropping the old
            # table would cascade into its children. Outside a transaction, so it applies.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the implicit transaction; Alembic opens its own
        applied = []
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **{**conf_args, "on_version_apply": lambda **step: applied.append(step)},
        )

        with context.begin_transaction():
            context.run_migrations()
        if applied:
            # New indexes, and tables a migration filled or rewrote, need statistics, or the
            # planner guesses (and with `practice_id = ?` everywhere it can guess a loop over
            # a whole practice). Cheap on an empty database; a large one is sampled.
            refresh_statistics(connection)
            connection.commit()
        # Every time, not only after a change: cheap, and it mends grants made by hand.
        grant_to_app(connection)
        if connection.dialect.name == "sqlite":
            # The connection goes back to the pool: give it back as the app expects it.
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
