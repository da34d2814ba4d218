from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from webapp.support import services


class GrantForm(FlaskForm):
    hours = SelectField(_l("For how long"), coerce=int,
                        choices=[SelectChoice(k, v) for k, v in services.DURATIONS.items()],
                        default=24,
                        validators=[InputRequired(_l("Choose a duration from the list."))])
    reason = TextAreaField(_l("Why"), description=_l(
        "What the support should look at, e.g. the ticket it answers."),
        validators=[DataRequired(_l("Say why the support needs access.")),
                    Length(max=services.REASON_MAX)])
