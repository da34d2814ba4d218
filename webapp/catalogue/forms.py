"""Forms of the catalogue pages: an operator's entry, a tenant's enable, disable and
authorisation buttons; the labels of the cookie banner's purposes and of what a service loads."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from core import cookie_lifetimes
from webapp.subprocessors.forms import REQUIRED, SAFEGUARDS

# The cookie banner's purposes (tenants.consent); the processor register shows them too.
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
MAX_COOKIES = 20


def parse_cookies(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """``name | lifetime`` lines -> (cookies, translated errors naming each wrong cookie): the
    cookie banner's rule, a number and a unit, at most 13 months (``core.cookie_lifetimes``)."""
    return cookie_lifetimes.parse_lines(text, MAX_COOKIES, COOKIE_NAME)


class CatalogueForm(FlaskForm):
    name = StringField(_l("Name"), validators=[REQUIRED, Length(max=100)])
    provider = StringField(_l("Provider"), validators=[REQUIRED, Length(max=100)],
                           description=_l("The company that runs it."))
    purpose = SelectField(_l("Purpose in the cookie banner"),
                          choices=[SelectChoice(k, v) for k, v in SERVICE_PURPOSES.items()])
    description_fr = TextAreaField(_l("What it does (French)"),
                                   validators=[REQUIRED, Length(max=2000)])
    description_en = TextAreaField(_l("What it does (English)"),
                                   validators=[REQUIRED, Length(max=2000)])
    data_fr = TextAreaField(_l("Data categories (French)"),
                            validators=[REQUIRED, Length(max=2000)])
    data_en = TextAreaField(_l("Data categories (English)"),
                            validators=[REQUIRED, Length(max=2000)])
    location = StringField(_l("Country where the data is processed"),
                           validators=[REQUIRED, Length(max=100)],
                           description=_l("e.g. France, United States"))
    safeguard = SelectField(_l("Safeguard"), description=_l(
        "Anything but \u201cProcessed in the EU/EEA\u201d is a transfer outside the EU: the "
        "service stays blocked for a tenant until its owner authorises it."),
        choices=[SelectChoice(k, v) for k, v in SAFEGUARDS.items()])
    cookies = TextAreaField(_l("Cookies it sets"), validators=[Length(max=3000)], description=_l(
        "One per line: the cookie's name, a vertical bar, its lifetime as a number and a unit "
        "(minutes, hours, days, months) or \u201csession\u201d, e.g. _pk_id | 13 months. At "
        "most 13 months (CNIL)."))
    load_kind = SelectField(_l("What the page loads once the visitor consents"),
                            choices=[SelectChoice(k, v) for k, v in LOAD_KINDS.items()])
    load_url = StringField(_l("Its address"), validators=[Optional(), Length(max=500)],
                           description=_l("An https address (https://…)."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        _cookies, errors = parse_cookies(self.cookies.data or "")
        if errors:
            self.cookies.errors.extend(errors)
            valid = False
        if (self.load_kind.data == "none") != (not (self.load_url.data or "").strip()):
            self.load_url.errors.append(_l("Give an address when the page loads something, "
                                           "and none otherwise."))
            valid = False
        return valid

    def cookie_list(self) -> list[dict[str, Any]]:
        return parse_cookies(self.cookies.data or "")[0]


class ServiceActionForm(FlaskForm):
    """Enable or disable: nothing but the CSRF token."""


class AuthoriseForm(FlaskForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    confirm = BooleanField(validators=[DataRequired(_l("Tick the box to authorise the "
                                                       "transfer."))])
