"""The tenant settings form: languages of the tenant's texts, the widest visibility, and the
ratings policy."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from core import zones
from tenants.settings.models import (
    RATERS,
    RATING_EDIT_DAYS,
    RATING_ORDERS,
    RATING_VISIBILITIES,
    RATING_WINDOW_DAYS,
    VISIBILITIES,
)
from tenants.settings.services import RATINGS_KEYS as RATINGS_FIELDS
from tenants.settings.services import SUPPORTED_LANGUAGES

# Each language is named in itself (an autonym), so it is not translated.
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
VISIBILITY_LABELS = {
    "nobody": _l("Nobody: participant lists are not shown"),
    "participants": _l("Other participants of the organisation"),
    "public": _l("Everyone (first name and initial of the last name)"),
}

RATER_LABELS = {
    "attended": _l("Participants marked as attended by your team"),
    "confirmed": _l("Participants whose registration was confirmed (no attendance tracking)"),
}
RATING_VISIBILITY_LABELS = {
    "public": _l("Everyone"),
    "participants": _l("Signed-in participants of the organisation"),
    "staff": _l("Your team only"),
}
RATING_ORDER_LABELS = {
    "newest": _l("Newest first"),
    "highest": _l("Highest rated first"),
    "lowest": _l("Lowest rated first"),
}


def _days(low_high: tuple[int, int]) -> list:
    low, high = low_high
    return [InputRequired(message=_l("Enter a number of days.")),
            NumberRange(low, high, message=_l("Between %(min)d and %(max)d days.", min=low,
                                              max=high))]


class SettingsForm(FlaskForm):
    default_language = SelectField(
        _l("Default language"),
        choices=[SelectChoice(lang, LANGUAGE_NAMES[lang]) for lang in SUPPORTED_LANGUAGES],
        description=_l("Field labels, purposes and event titles must at least be written in "
                       "this language; it is shown when a text is missing in another one."))
    languages = SelectMultipleField(
        _l("Languages of your texts"),
        choices=[SelectChoice(lang, LANGUAGE_NAMES[lang]) for lang in SUPPORTED_LANGUAGES],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        description=_l("Your forms and events get one input per language ticked here."))
    max_visibility = SelectField(
        _l("Who participants may let see them in participant lists, at most"),
        choices=[SelectChoice(value, VISIBILITY_LABELS[value]) for value in VISIBILITIES],
        description=_l("Each participant chooses within this limit. Lowering it also lowers "
                       "the choice of the participants who had chosen more."))

    timezone = SelectField(
        _l("Time zone"),
        description=_l("Times on your pages and in your e-mails are shown in this zone, with "
                       "its name; new events start in it (each event may have its own)."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(value, text)
                                 for value, text in zones.offered(self.timezone.data)]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.default_language.data not in (self.languages.data or []):
            self.languages.errors.append(_l("Tick the default language too."))
            valid = False
        return valid

    def chosen_languages(self) -> list[str]:
        """The ticked languages, default first."""
        default = self.default_language.data
        return [default, *(lang for lang in SUPPORTED_LANGUAGES
                           if lang in self.languages.data and lang != default)]


class RatingsSettingsForm(FlaskForm):
    """The ratings policy: who may rate and when, moderation, who sees reviews, their order."""

    ratings_raters = SelectField(
        _l("Who may rate an event, once it has ended"),
        choices=[SelectChoice(value, RATER_LABELS[value]) for value in RATERS])
    ratings_window_days = IntegerField(
        _l("Days after the end of an event during which it may be rated"),
        validators=_days(RATING_WINDOW_DAYS),
        description=_l("From 1 to 365 days; 30 by default."))
    ratings_edit_days = IntegerField(
        _l("Days after posting during which a rating may be changed"),
        validators=_days(RATING_EDIT_DAYS),
        description=_l("From 0 (never) to 365 days; 30 by default."))
    ratings_autopublish_stars = BooleanField(
        _l("Publish ratings without a comment at once"))
    ratings_premoderate_comments = BooleanField(
        _l("Hold reviews with a comment until a moderator publishes them"))
    ratings_visibility = SelectField(
        _l("Who sees the ratings and reviews"),
        choices=[SelectChoice(value, RATING_VISIBILITY_LABELS[value])
                 for value in RATING_VISIBILITIES])
    ratings_order = SelectField(
        _l("Default order of the reviews"),
        choices=[SelectChoice(value, RATING_ORDER_LABELS[value]) for value in RATING_ORDERS])

    def values(self) -> dict[str, object]:
        """The ratings settings, as ``services.update_ratings`` takes them."""
        return {name: self[name].data for name in RATINGS_FIELDS}
