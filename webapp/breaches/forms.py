from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.breaches import services

_REQUIRED = DataRequired(_l("This field is required."))
_TEXT = Length(max=services.TEXT_MAX, message=_l("At most %(max)d characters."))
_COUNT = NumberRange(min=0, max=1_000_000_000, message=_l("Enter a whole number."))


def _text(label: object, description: object = "", required: bool = True) -> TextAreaField:
    return TextAreaField(label, description=description,
                         validators=[_REQUIRED if required else Optional(), _TEXT])


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class BreachForm(FlaskForm):
    nature = _text(_l("Nature of the breach"), _l(
        "What happened: loss of confidentiality, integrity or availability, and how."))
    data_categories = _text(_l("Data categories concerned"))
    people_estimate = IntegerField(_l("Approximate number of people concerned"), validators=[
        InputRequired(_l("Enter a whole number.")), _COUNT])
    records_estimate = IntegerField(
        _l("Approximate number of records concerned"), description=_l("Optional."),
        validators=[Optional(), _COUNT])
    consequences = _text(_l("Likely consequences"))
    measures = _text(_l("Measures taken or proposed"))
    aware_at = DateTimeLocalField(
        _l("Parvis became aware of it on"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        description=_l("Paris time. The 24-hour and 72-hour clocks start here."),
        invalid_value_message=_l("Enter a date and time, e.g. 2031-01-15 10:00."),
        validators=[DataRequired(_l("Enter a date and time."))])
    scope = RadioField(_l("What the incident touches"),
                       choices=[SelectChoice(k, v) for k, v in services.SCOPES.items()],
                       validators=[InputRequired(_l("Choose what the incident touches."))])
    component = SelectField(_l("Component or kind of data"), choices=[SelectChoice("", "—")] + [
        SelectChoice(key, c.label) for key, c in services.COMPONENTS.items()],
        description=_l("When the incident touches a component."), validate_choice=False)
    tenants = CheckboxesField(_l("Organisations"), coerce=int, validate_choice=False,
                              description=_l("When the incident touches specific organisations."))

    def aware_at_utc(self) -> datetime:
        """The time of awareness, read in the platform's time zone."""
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        return self.aware_at.data.replace(tzinfo=zone).astimezone(UTC)


class CnilDraftForm(FlaskForm):
    nature = _text(_l("Nature of the breach"), required=False)
    categories = _text(_l("Categories of data and of people concerned"), required=False)
    people = StringField(_l("Approximate number of people concerned"),
                         validators=[Optional(), Length(max=100)])
    records = StringField(_l("Approximate number of records concerned"),
                          validators=[Optional(), Length(max=100)])
    dpo_contact = _text(_l("Contact of your data protection officer or contact point"),
                        required=False)
    consequences = _text(_l("Likely consequences"), required=False)
    measures = _text(_l("Measures taken or proposed"), required=False)
    late_reason = _text(_l("Reasons for the delay"), _l(
        "Required when the notification is made more than 72 hours after awareness."),
        required=False)


class NoticeForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=200)])
    nature = _text(_l("What happened"), required=False)
    consequences = _text(_l("Likely consequences for the participants"), required=False)
    measures = _text(_l("What you did and what you advise"), required=False)
    contact = _text(_l("Who to contact"), _l(
        "Your data protection officer or another contact point: an address people can write to."),
        required=False)
