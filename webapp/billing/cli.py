"""``flask billing fake-stripe`` (the fake Stripe on its own port) and ``flask billing sweep``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from werkzeug.serving import run_simple

from webapp import db
from webapp.billing import services
from webapp.billing.fake import FakeStripe

billing_cli = AppGroup("billing", help="The fake Stripe and the billing lifecycle.")


@billing_cli.command("fake-stripe")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=12111, show_default=True)
@click.option("--webhook-url", default=None,
              help="Where to send events [default: PARVIS_BASE_URL/billing/webhook].")
def fake_stripe(host: str, port: int, webhook_url: str | None) -> None:
    """Serve the fake Stripe alone; start Parvis with PARVIS_STRIPE_API_BASE pointing at it."""
    config = current_app.config
    fake = FakeStripe(webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
                      prices=config["STRIPE_PRICES"],
                      webhook_url=webhook_url or f"{config['BASE_URL']}/billing/webhook")
    click.echo(f"Fake Stripe at http://{host}:{port}: run Parvis with "
               f"PARVIS_STRIPE_API_BASE=http://{host}:{port} (same PARVIS_INSTANCE_PATH or "
               f"PARVIS_SECRET_KEY, for the webhook secret)")
    run_simple(host, port, fake.app, threaded=True)


@billing_cli.command("sweep")
def sweep() -> None:
    """Apply the lifecycle now (grace over -> read-only -> suspended), as the hourly job does."""
    changed = services.sweep(db.session())
    db.commit()
    click.echo(f"{changed} organisation(s) changed status")
