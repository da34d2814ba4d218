from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from webapp.contract.services import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, MIN_WINDOW_DAYS

_WINDOW_MESSAGE = _l("Choose a return window between %(low)s and %(high)s days.",
                     low=MIN_WINDOW_DAYS, high=MAX_WINDOW_DAYS)


def _window_field() -> IntegerField:
    return IntegerField(
        _l("Return window (days)"), default=DEFAULT_WINDOW_DAYS,
        description=_l("How long, from the end of the contract, your export stays available "
                       "before all your data is destroyed: %(low)s to %(high)s days.",
                       low=MIN_WINDOW_DAYS, high=MAX_WINDOW_DAYS),
        validators=[InputRequired(_WINDOW_MESSAGE),
                    NumberRange(MIN_WINDOW_DAYS, MAX_WINDOW_DAYS, _WINDOW_MESSAGE)])


class TerminateForm(FlaskForm):
    window_days = _window_field()
    password = PasswordField(_l("Your password"), description=_l(
        "To confirm that it is really you."),
        validators=[DataRequired(_l("Enter your password."))])
    confirm = BooleanField(
        _l("I understand that the space closes now and that its data will be destroyed at the "
           "end of the return window."),
        validators=[DataRequired(_l("Tick the box to confirm the termination."))])


class WindowForm(FlaskForm):
    window_days = _window_field()
