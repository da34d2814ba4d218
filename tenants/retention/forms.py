from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired


class RuleForm(FlaskForm):
    """One row of the matrix (prefixed with its kind: one form per row on the page). The
    bounds are checked by ``services.set_rule``, which gives the reason."""

    duration = IntegerField(_l("Keep for"), validators=[
        InputRequired(_l("Enter a whole number."))])
