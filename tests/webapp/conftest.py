"""Fixtures for the control plane and the shared web layer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from core import jobs
from tests.conftest import app_settings
from webapp import db
from webapp.app import create_app


@pytest.fixture
def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build a dedicated app (own settings) on the session app's databases.

    The tenant plane and the job queue are process-wide and follow the last app built, so they
    are handed back to the session app afterwards.
    """
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        instance = Path(app.config["INSTANCE_PATH"])
        made.append(create_app(app_settings(instance, database_url, **overrides)))
        return made[-1]

    try:
        yield make
    finally:
        for dedicated in made:
            dedicated.extensions["parvis_engine"].dispose()
        db.bind_tenant_plane(app)
        jobs.init_app(app)
