"""The tenant plane's pages: its blueprints, for the application factory to mount."""

from __future__ import annotations

from flask import Blueprint

from tenants.consent.views import bp as consent_bp
from tenants.dashboard.views import bp as dashboard_bp
from tenants.events.views import bp as events_bp
from tenants.fields.views import bp as fields_bp
from tenants.messaging.views import bp as messaging_bp
from tenants.participants.views import bp as participants_bp
from tenants.ratings.views import bp as ratings_bp
from tenants.registration.joining_views import bp as joining_bp
from tenants.registration.views import bp as registration_bp
from tenants.retention.views import bp as retention_bp
from tenants.rights.views import bp as rights_bp
from tenants.settings.views import bp as settings_bp


def blueprints() -> list[Blueprint]:
    """Tenant-facing blueprints, to be mounted under the ``/t/<tenant>`` parent."""

    return [events_bp, participants_bp, registration_bp, fields_bp, settings_bp, ratings_bp,
            consent_bp, rights_bp, retention_bp, messaging_bp, dashboard_bp, joining_bp]
