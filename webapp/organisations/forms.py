from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from webapp.organisations.models import TenantStatus
from webapp.organisations.services import REASON_MAX


class TenantForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=[
        DataRequired(_l("Enter the organisation's name.")), Length(max=200)])
    slug = StringField(_l("Address name"), description=_l(
        "Lowercase letters, digits and hyphens; it appears in the space's address, "
        "e.g. /t/my-club/."),
        validators=[DataRequired(_l("Enter an address name."))])
    # Each language is named in itself (an autonym), so it is not translated.
    default_language = SelectField(_l("Default language"), choices=[
        SelectChoice("fr", "Français"), SelectChoice("en", "English")])


class StatusForm(FlaskForm):
    """Suspend (``suspended``) or reactivate (``active``) a tenant, with the reason."""

    status = SelectField(choices=[SelectChoice(s.value) for s in
                                  (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)])
    reason = TextAreaField(_l("Reason"), description=_l(
        "Recorded with your name and the time, in the organisation's history below."),
        validators=[DataRequired(_l("Give the reason for this change.")),
                    Length(max=REASON_MAX, message=_l("The reason must be at most %(num)d "
                                                      "characters.", num=REASON_MAX))],
        render_kw={"rows": 3})
