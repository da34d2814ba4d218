"""Forms: the admins' services and banner, and the visitors' choice."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from core import cookie_lifetimes
from tenants.consent.banner import (
    COOKIE_NAME,
    MAX_LIFETIME_MONTHS,
    RETENTION_YEARS,
    Config,
    valid_load_url,
)
from tenants.consent.models import PURPOSES
from tenants.texts import clean, texts_form

PURPOSE_LABELS = {
    "necessary": _l("Strictly necessary"),
    "audience": _l("Audience measurement"),
    "personalisation": _l("Personalisation"),
    "marketing": _l("Marketing"),
    "embedded": _l("Embedded content"),
}
PURPOSE_HELP = {
    "necessary": _l("Needed for the site to work (your session, your language, your cookie "
                    "choices). They cannot be refused."),
    "audience": _l("Count visits and see how the pages are used, to improve them."),
    "personalisation": _l("Remember preferences to adapt the pages to you."),
    "marketing": _l("Measure or show advertising and follow you across sites."),
    "embedded": _l("Videos, maps or other content from another site, which may set its own "
                   "cookies when shown."),
}
LOAD_LABELS = {
    "none": _l("Nothing (the service sets cookies through content you add otherwise)"),
    "script": _l("A script, from its https address"),
    "embed": _l("Embedded content (a frame), from its https address"),
}
MAX_COOKIES = 20


def parse_cookies(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """``name | lifetime`` lines -> (cookies, translated errors naming each wrong cookie); each
    lifetime read as a number and a unit, at most 13 months (``core.cookie_lifetimes``)."""
    return cookie_lifetimes.parse_lines(text, MAX_COOKIES, COOKIE_NAME)


def cookies_text(cookies: list[dict]) -> str:
    """The stored cookies as the form shows them, lifetimes in the reader's language."""
    return cookie_lifetimes.lines(cookies)


class ServiceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("As visitors know it, e.g. Matomo, YouTube."))
    provider = StringField(_l("Provider"), validators=[DataRequired(), Length(max=100)],
                           description=_l("The company or body that runs it."))
    purpose = SelectField(_l("Purpose"), choices=[SelectChoice(p, PURPOSE_LABELS[p])
                                                  for p in PURPOSES])
    cookies = TextAreaField(
        _l("Cookies it sets"), validators=[Length(max=3000)],
        description=_l("One per line: the cookie's name, a vertical bar, its lifetime as a "
                       "number and a unit (minutes, hours, days, months) or \u201csession\u201d, "
                       "e.g. _pk_id | 13 months. At most 13 months (CNIL). They are deleted "
                       "when a visitor withdraws consent."))
    location = StringField(_l("Where the data is processed"),
                           validators=[DataRequired(), Length(max=100)],
                           description=_l("e.g. France, European Union, United States."))
    load_kind = SelectField(_l("What to load once the visitor consents"),
                            choices=[SelectChoice(k, LOAD_LABELS[k]) for k in LOAD_LABELS])
    load_url = StringField(_l("Its address"), validators=[Optional(), Length(max=500)],
                           description=_l("An https address. Embedded content is shown on "
                                          "your home page, behind a consent button."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        _cookies, errors = parse_cookies(self.cookies.data or "")
        if errors:
            self.cookies.errors.extend(errors)
            valid = False
        url = (self.load_url.data or "").strip()
        if self.load_kind.data == "none":
            if url:
                self.load_url.errors.append(_l("Choose what to load, or leave the address "
                                               "empty."))
                valid = False
        elif not url:
            self.load_url.errors.append(_l("Give the address to load."))
            valid = False
        elif not valid_load_url(url):
            self.load_url.errors.append(_l("Give a plain https address (https://…), without "
                                           "spaces or quotes."))
            valid = False
        return valid

    def values(self) -> dict[str, Any]:
        url = (self.load_url.data or "").strip()
        return {"name": self.name.data.strip(), "provider": self.provider.data.strip(),
                "purpose": self.purpose.data,
                "cookies": parse_cookies(self.cookies.data or "")[0],
                "location": self.location.data.strip(), "load_kind": self.load_kind.data,
                "load_url": url if self.load_kind.data != "none" else None}


class BannerFields(FlaskForm):
    lifetime_months = IntegerField(
        _l("Consent lasts (months)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_LIFETIME_MONTHS)],
        description=_l("At most 13 months; visitors are then asked again. A refusal is "
                       "remembered 6 months."))
    retention_years = IntegerField(
        _l("Keep the proofs of consent (years after the consent ends)"),
        validators=[InputRequired(), NumberRange(min=RETENTION_YEARS[0],
                                                 max=RETENTION_YEARS[1])])
    link_participant = BooleanField(
        _l("Tie a signed-in participant's choices to their account"),
        description=_l("Only if your privacy notice says so. Otherwise the proofs hold no "
                       "link to anyone."))


def banner_form(languages: tuple[str, ...], **kwargs: Any) -> BannerFields:
    """The banner form with a title and a text per enabled language (empty: our wording)."""

    class BannerForm(BannerFields):
        title = FormField(texts_form(languages, max_length=120), label=_l("Banner title"))
        body = FormField(texts_form(languages, max_length=2000, multiline=True),
                         label=_l("Banner text"))

    return BannerForm(**kwargs)


def banner_texts(form: Any, languages: tuple[str, ...]) -> dict:
    return {"title": clean(form.title.data, languages), "body": clean(form.body.data, languages)}


class ChoiceForm(FlaskForm):
    """A visitor's answer. The services and purposes offered are the configuration's own, so
    an unknown one makes the form invalid (nothing is written)."""

    decision = SelectField(choices=["accept", "refuse", "choose", "add"])
    version = IntegerField(validators=[InputRequired()])
    services = SelectMultipleField(widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput(), validate_choice=True)
    purposes = SelectMultipleField(widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput(), validate_choice=True)
    next = HiddenField()

    def offer(self, config: Config) -> ChoiceForm:
        self.services.choices = [(str(s.id), s.name) for s in config.optional]
        self.purposes.choices = [(p, str(PURPOSE_LABELS[p])) for p, _s in config.purposes()
                                 if p != "necessary"]
        return self

    def accepted(self, config: Config, current: frozenset[int]) -> frozenset[int]:
        """The services the visitor accepts with this answer."""
        decision = self.decision.data
        if decision == "accept":
            return config.optional_ids
        if decision == "refuse":
            return frozenset()
        ticked = {int(v) for v in self.services.data or ()}
        if decision == "add":  # "load this content": one more service, the rest unchanged
            return frozenset(current | ticked)
        purposes = set(self.purposes.data or ())
        return frozenset(s.id for s in config.optional if s.id in ticked or s.purpose in purposes)


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    consent_id = StringField(_l("Consent id"), validators=[DataRequired(), Length(max=100)],
                             description=_l("As shown to the visitor in their cookie "
                                            "settings."))
