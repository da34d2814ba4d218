"""The owner's acceptance of the current DPA."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired


class AcceptDpaForm(FlaskForm):
    version = HiddenField()
    confirm = BooleanField(_l("I have read this agreement and accept it on behalf of my "
                              "organisation."),
                           validators=[DataRequired(_l("Tick the box to accept the agreement."))])
