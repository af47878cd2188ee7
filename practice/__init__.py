"""practice: a tool for couples therapists whose clients are rebuilding trust."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from practice.config import load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, hooks, CLI. Connects to nothing."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=os.environ.get("PRACTICE_INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
    )
    app.config.update(load_config(Path(app.instance_path)))
    if config:
        app.config.update(config)

    configure_logging(app)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_cli(app)
    return app


def configure_logging(app: Flask) -> None:
    level = logging.DEBUG if app.debug else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # `flask run`'s access lines: no working token, no searched words (practice.access_log).
    from practice.access_log import install_werkzeug_filter

    install_werkzeug_filter()


def trust_proxies(app: Flask) -> None:
    """Behind PROXY_COUNT proxies, take the client's address and scheme from the headers they
    set (the last PROXY_COUNT hops only: earlier ones are whatever the client sent). Never the
    Host: links are built from BASE_URL."""
    count = app.config.get("PROXY_COUNT", 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_prefix=0)


def register_extensions(app: Flask) -> None:
    from practice import models  # noqa: F401 - every table on the metadata
    from practice.extensions import csrf, db, limiter, login_manager, migrate
    from practice.jobs.dispatch import install_hooks
    from practice.row_security import install as install_row_security
    from practice.security import init_app as init_password_hashing
    from practice.tenancy import install_guard, install_load_check

    db.init_app(app)
    init_password_hashing(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    install_guard(models.Practice)
    # db.Model, not extensions.Base: Flask-SQLAlchemy copies Base into a new class, so
    # the models are subclasses of db.Model only and a listener on Base never fires.
    install_load_check(db.Model)
    install_hooks()
    with app.app_context():  # the engine exists once bound; it has not connected yet
        install_row_security(db.engine, app.config["DATABASE_UNSCOPED_ROLE"])

    from practice.blueprints.auth.sessions import configure_login

    configure_login(login_manager)


def register_blueprints(app: Flask) -> None:
    from practice.blueprints import BLUEPRINTS
    from practice.urls import IdConverter, PublicIdConverter

    # Before any route is added: every existing `<int:…>` becomes a bounded id.
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["public_id"] = PublicIdConverter
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def register_hooks(app: Flask) -> None:
    from practice import local_time
    from practice.blueprints import errors, hooks, transaction

    transaction.register(app)
    hooks.register(app)
    errors.register(app)
    local_time.register(app)


def register_cli(app: Flask) -> None:
    from practice.cli import jobs_cli, practice_cli

    app.cli.add_command(practice_cli)
    app.cli.add_command(jobs_cli)
