"""Forms of the ratings pages: rating an event, reporting a review, moderating one."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

from tenants.ratings.models import MAX_COMMENT
from tenants.ratings.services import MARKUP, REPORT_REASONS

STARS_LABELS = {
    5: _l("5 stars: excellent"),
    4: _l("4 stars: good"),
    3: _l("3 stars: average"),
    2: _l("2 stars: poor"),
    1: _l("1 star: very poor"),
}
REPORT_REASON_LABELS = {
    "offensive": _l("Insulting, hateful or offensive"),
    "false": _l("Misleading, or not about this event"),
    "personal_data": _l("Reveals personal information"),
    "spam": _l("Advertising or spam"),
    "other": _l("Another reason"),
}
STARS_MESSAGE = _l("Choose between 1 and 5 stars.")


def _stars(value: Any) -> int:
    """The submitted star count as a number (0 for anything else, refused by AnyOf)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def plain_text(form: Form, field: Any) -> None:
    if field.data and MARKUP.search(field.data):
        # No angle brackets in the message itself: lazy strings are output unescaped.
        raise ValidationError(_l("Please write plain text: HTML tags are not accepted. Remove "
                                 "the parts written between angle brackets."))


def _length(maximum: int) -> Length:
    return Length(max=maximum, message=_l("At most %(max)d characters, please.", max=maximum))


class RatingForm(FlaskForm):
    # "edit" when the page showed the participant's own rating: a second "new" rating (two
    # tabs, a double submit) is refused instead of silently replacing the first.
    mode = HiddenField(default="new", validators=[Optional(), Length(max=10)])
    stars = RadioField(
        _l("Your rating"), coerce=_stars, validate_choice=False,
        choices=[SelectChoice(value, label) for value, label in STARS_LABELS.items()],
        validators=[InputRequired(message=STARS_MESSAGE), AnyOf(list(STARS_LABELS),
                                                                message=STARS_MESSAGE)])
    comment = TextAreaField(
        _l("Your comment (optional)"), validators=[Optional(), _length(MAX_COMMENT),
                                                   plain_text],
        description=_l("Plain text, at most 2,000 characters. With a comment, your review is "
                       "listed with your first name and the initial of your last name; "
                       "without one, your stars count only in the average."))


class ReportForm(FlaskForm):
    reason = RadioField(
        _l("Why should the moderators look at this review?"),
        choices=[SelectChoice(key, label) for key, label in REPORT_REASON_LABELS.items()],
        validators=[InputRequired(message=_l("Choose a reason."))])
    details = TextAreaField(_l("Details (optional)"),
                            validators=[Optional(), _length(500), plain_text])

    def validate_reason(self, field: Any) -> None:
        if field.data not in REPORT_REASONS:
            raise ValidationError(_l("Choose a reason."))


class ModerationForm(FlaskForm):
    """Publish (or keep) a review, or hide it with a reason told to its author."""

    reason = TextAreaField(
        _l("Reason for hiding (sent to the author)"),
        validators=[Optional(), _length(500), plain_text])
