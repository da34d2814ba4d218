"""The operators' form of the platform's own retention (sign-in records)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired


class SignInRetentionForm(FlaskForm):
    """The bounds are checked by ``services.set_sign_in_months``, which gives the reason."""

    months = IntegerField(_l("Keep sign-in sessions for (months after they ended)"),
                          validators=[InputRequired(_l("Enter a whole number."))])
