"""The tenant settings form: languages of the tenant's texts and the widest visibility."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from tenants.settings.models import VISIBILITIES
from tenants.settings.services import SUPPORTED_LANGUAGES

# Each language is named in itself (an autonym), so it is not translated.
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
VISIBILITY_LABELS = {
    "nobody": _l("Nobody: participant lists are not shown"),
    "participants": _l("Other participants of the organisation"),
    "public": _l("Everyone (first name and initial of the last name)"),
}


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
