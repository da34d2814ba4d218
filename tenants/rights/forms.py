"""Forms of the rights feature: the participant's privacy choices, the request form and its
code, and the tenant's answers (extend, complete, erase)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from tenants.participants.forms import EMAIL_LENGTH, EmailAddress, email_field

TEXT_LENGTH = 2000

KIND_LABELS = {
    "access": _l("Access: a copy of my data"),
    "portability": _l("Portability: my data in a reusable format"),
    "rectification": _l("Rectification: correct my data"),
    "erasure": _l("Erasure: delete my data"),
    "restriction": _l("Restriction: stop using my data, keep it stored"),
    "objection": _l("Objection: stop a processing of my data"),
    "directive": _l("Post-mortem directive: what happens to my data after my death"),
}
PROFILE_LABELS = {
    "email": _l("E-mail address"), "first_name": _l("First name"), "last_name": _l("Last name"),
    "mobile_phone": _l("Mobile phone"), "city": _l("City"), "postal_code": _l("Postal code"),
    "job_function": _l("Job function"), "language": _l("Language of my e-mails"),
    "list_visibility": _l("Participant lists"), "email_confirmed_at": _l("Address confirmed on"),
    "last_active_at": _l("Last sign-in"), "created_at": _l("Account created on"),
}
DIRECTIVE_LABELS = {
    "keep": _l("Keep my data as long as the rules above say, then delete it"),
    "erase": _l("Erase my data as soon as my death is known"),
    "hand_over": _l("Hand my data over to a person I name"),
}


def _choices(labels: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class ConfirmForm(FlaskForm):
    """A button that changes one thing (CSRF only)."""


class MarketingForm(FlaskForm):
    marketing = RadioField(_l("News and offers by e-mail from this organisation"),
                           choices=_choices({"yes": _l("Yes, send them to me"),
                                             "no": _l("No, thank you")}),
                           validators=[InputRequired(_l("Choose yes or no."))])


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("Why do you object?"), description=_l(
        "Say which use of your data you object to, and why, in a few words."),
        validators=[DataRequired(_l("Tell us why you object.")), Length(max=TEXT_LENGTH)])


class DirectiveForm(FlaskForm):
    directive = RadioField(_l("After my death"),
                           choices=_choices(DIRECTIVE_LABELS),
                           validators=[InputRequired(_l("Choose what should happen."))])
    name = StringField(_l("Name of the person"), validators=[Optional(), Length(max=200)])
    email = StringField(_l("E-mail address of the person"),
                        validators=[Optional(), Length(max=EMAIL_LENGTH), EmailAddress()])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.directive.data == "hand_over":
            if not (self.name.data or "").strip():
                self.name.errors = [_l("Give the name of the person.")]
                ok = False
            if not (self.email.data or "").strip():
                self.email.errors = [_l("Give the e-mail address of the person.")]
                ok = False
        return ok


class DeleteForm(FlaskForm):
    confirm = BooleanField(_l("I want to delete my account"),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


class RequestForm(FlaskForm):
    kind = RadioField(_l("What do you ask for?"), choices=_choices(KIND_LABELS),
                      validators=[InputRequired(_l("Choose what you ask for."))])
    email = email_field()
    details = TextAreaField(_l("Details (optional)"), description=_l(
        "Anything that helps us answer: what to correct, which use you object to…"),
        validators=[Length(max=TEXT_LENGTH)])


class CodeForm(FlaskForm):
    code = StringField(_l("Verification code"), description=_l(
        "The 6 digits of the e-mail we sent you."), validators=[
        DataRequired(_l("Enter the code.")),
        Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ExtendForm(FlaskForm):
    months = RadioField(_l("Extend by"),
                        choices=_choices({"1": _l("1 month"), "2": _l("2 months")}),
                        validators=[InputRequired(_l("Choose 1 or 2 months."))])
    reason = TextAreaField(_l("Reasons (sent to the requester)"), validators=[
        DataRequired(_l("Give the reasons: the requester must be told why.")),
        Length(max=TEXT_LENGTH)])


class CompleteForm(FlaskForm):
    note = TextAreaField(_l("Answer (sent to the requester)"), validators=[
        DataRequired(_l("Write the answer sent to the requester.")), Length(max=TEXT_LENGTH)])
    uphold = RadioField(_l("Objection"), default="yes",
                        choices=_choices({
                            "yes": _l("Upheld: processing stays stopped"),
                            "no": _l("Declined: compelling legitimate grounds, explained in "
                                     "the answer")}))


class EraseForm(FlaskForm):
    confirm = BooleanField(_l("I understand that this cannot be undone"))
