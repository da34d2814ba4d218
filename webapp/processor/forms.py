import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from webapp.processor import services

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
_REQUIRED = DataRequired(_l("This field is required."))


class AcceptDpaForm(FlaskForm):
    version = HiddenField()
    confirm = BooleanField(_l("I have read this agreement and accept it on behalf of my "
                              "organisation."),
                           validators=[DataRequired(_l("Tick the box to accept the agreement."))])


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), description=_l(
        "Tell us why, so we can look for a solution with you."),
        validators=[Optional(), Length(max=services.REASON_MAX)])


class SubProcessorForm(FlaskForm):
    name = StringField(_l("Name"), validators=[_REQUIRED, Length(max=200)])
    purpose_fr = TextAreaField(_l("Purpose (French)"), validators=[_REQUIRED, Length(max=2000)])
    purpose_en = TextAreaField(_l("Purpose (English)"), validators=[_REQUIRED, Length(max=2000)])
    data_fr = TextAreaField(_l("Data categories (French)"),
                            validators=[_REQUIRED, Length(max=2000)])
    data_en = TextAreaField(_l("Data categories (English)"),
                            validators=[_REQUIRED, Length(max=2000)])
    location = StringField(_l("Location of processing"), description=_l("e.g. France"),
                           validators=[_REQUIRED, Length(max=200)])
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


# --- third-party services ------------------------------------------------------------------

SERVICE_PURPOSES = {
    "necessary": _l("Strictly necessary"), "audience": _l("Audience measurement"),
    "personalisation": _l("Personalisation"), "marketing": _l("Marketing"),
    "embedded": _l("Embedded content"),
}
LOAD_KINDS = {
    "none": _l("Nothing (cookies set through content added otherwise)"),
    "script": _l("A script, from its https address"),
    "embed": _l("Embedded content (a frame), from its https address"),
}
COOKIE_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")  # as the cookie banner's


def parse_cookies(text: str) -> list[dict[str, str]] | None:
    """``name | lifetime`` lines -> cookie list; None when a line is not valid."""
    found = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, _sep, lifetime = (part.strip() for part in line.partition("|"))
        if not COOKIE_NAME.fullmatch(name) or not lifetime or len(lifetime) > 50:
            return None
        found.append({"name": name, "lifetime": lifetime})
    return found if len(found) <= 20 else None


class CatalogueForm(FlaskForm):
    name = StringField(_l("Name"), validators=[_REQUIRED, Length(max=100)])
    provider = StringField(_l("Provider"), validators=[_REQUIRED, Length(max=100)],
                           description=_l("The company that runs it."))
    purpose = SelectField(_l("Purpose in the cookie banner"),
                          choices=[SelectChoice(k, v) for k, v in SERVICE_PURPOSES.items()])
    description_fr = TextAreaField(_l("What it does (French)"),
                                   validators=[_REQUIRED, Length(max=2000)])
    description_en = TextAreaField(_l("What it does (English)"),
                                   validators=[_REQUIRED, Length(max=2000)])
    data_fr = TextAreaField(_l("Data categories (French)"),
                            validators=[_REQUIRED, Length(max=2000)])
    data_en = TextAreaField(_l("Data categories (English)"),
                            validators=[_REQUIRED, Length(max=2000)])
    location = StringField(_l("Country where the data is processed"),
                           validators=[_REQUIRED, Length(max=100)],
                           description=_l("e.g. France, United States"))
    safeguard = SelectField(_l("Safeguard"), description=_l(
        "Anything but \u201cProcessed in the EU/EEA\u201d is a transfer outside the EU: the "
        "service stays blocked for a tenant until its owner authorises it."),
        choices=[SelectChoice(k, v) for k, v in SAFEGUARDS.items()])
    cookies = TextAreaField(_l("Cookies it sets"), validators=[Length(max=3000)], description=_l(
        "One per line: the cookie's name, a vertical bar, its lifetime (e.g. _pk_id | 13 "
        "months)."))
    load_kind = SelectField(_l("What the page loads once the visitor consents"),
                            choices=[SelectChoice(k, v) for k, v in LOAD_KINDS.items()])
    load_url = StringField(_l("Its address"), validators=[Optional(), Length(max=500)],
                           description=_l("An https address (https://…)."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if parse_cookies(self.cookies.data or "") is None:
            self.cookies.errors.append(_l("Write one cookie per line as name | lifetime (at "
                                          "most 20 cookies)."))
            valid = False
        if (self.load_kind.data == "none") != (not (self.load_url.data or "").strip()):
            self.load_url.errors.append(_l("Give an address when the page loads something, "
                                           "and none otherwise."))
            valid = False
        return valid

    def cookie_list(self) -> list[dict[str, str]]:
        return parse_cookies(self.cookies.data or "") or []


class ServiceActionForm(FlaskForm):
    """Enable or disable: nothing but the CSRF token."""


class AuthoriseForm(FlaskForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    confirm = BooleanField(validators=[DataRequired(_l("Tick the box to authorise the "
                                                       "transfer."))])

INSTRUCTION_AREAS = {
    "fields": _l("Registration form"), "retention": _l("Retention"),
    "services": _l("Third-party services"), "visibility": _l("Visibility"),
    "ratings": _l("Ratings"), "consent": _l("Cookie banner"),
    "registration": _l("Registrations"),
}
