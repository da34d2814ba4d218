from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from webapp.billing.plans import PLANS


class CheckoutForm(FlaskForm):
    plan = RadioField(_l("Plan"),
                      choices=[SelectChoice(code, plan.name) for code, plan in PLANS.items()],
                      validators=[InputRequired(_l("Choose a plan from the list."))])


class PortalForm(FlaskForm):
    """Only the CSRF token: opening the portal creates a session at Stripe."""
