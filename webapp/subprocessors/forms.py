"""Forms of the sub-processor pages, and the labels of safeguards and kinds of change."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.subprocessors import services

# By ``Safeguard`` value; the catalogue and the registers show them too.
SAFEGUARDS = {
    "eu": _l("Processed in the EU/EEA"),
    "adequacy": _l("Adequacy decision"),
    "scc": _l("Standard contractual clauses"),
}
CHANGE_KINDS = {
    "added": _l("New sub-processor"),
    "changed": _l("Change of an existing sub-processor"),
    "removed": _l("Sub-processor removed"),
}
REQUIRED = DataRequired(_l("This field is required."))


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), description=_l(
        "Tell us why, so we can look for a solution with you."),
        validators=[Optional(), Length(max=services.REASON_MAX)])


class SubProcessorForm(FlaskForm):
    name = StringField(_l("Name"), validators=[REQUIRED, Length(max=200)])
    purpose_fr = TextAreaField(_l("Purpose (French)"), validators=[REQUIRED, Length(max=2000)])
    purpose_en = TextAreaField(_l("Purpose (English)"), validators=[REQUIRED, Length(max=2000)])
    data_fr = TextAreaField(_l("Data categories (French)"),
                            validators=[REQUIRED, Length(max=2000)])
    data_en = TextAreaField(_l("Data categories (English)"),
                            validators=[REQUIRED, Length(max=2000)])
    location = StringField(_l("Location of processing"), description=_l("e.g. France"),
                           validators=[REQUIRED, Length(max=200)])
    safeguard = SelectField(_l("Safeguard"),
                            choices=[SelectChoice(k, v) for k, v in SAFEGUARDS.items()])


class ChangeForm(FlaskForm):
    kind = SelectField(_l("Kind of change"),
                       choices=[SelectChoice(k, v) for k, v in CHANGE_KINDS.items()])
    effective_on = DateField(_l("Takes effect on"), validators=[
        InputRequired(_l("Enter the date the change takes effect."))])
    objection_days = IntegerField(
        _l("Objection window (days)"), default=services.DEFAULT_OBJECTION_DAYS,
        validators=[InputRequired(_l("Enter a number of days.")),
                    NumberRange(*services.OBJECTION_DAYS, message=_l(
                        "Enter a number of days between %(min)d and %(max)d."))])
    note_fr = TextAreaField(_l("Note to owners (French, optional)"),
                            validators=[Optional(), Length(max=services.REASON_MAX)])
    note_en = TextAreaField(_l("Note to owners (English, optional)"),
                            validators=[Optional(), Length(max=services.REASON_MAX)])
