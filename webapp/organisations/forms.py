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
    # No owner has accepted the DPA yet: who asked for the space is recorded instead, and the
    # owner is asked to accept it (a banner) once they sign in. Checked by the service.
    instructed_by_name = StringField(_l("On the instruction of (name)"), description=_l(
        "The client's representative who asked for this space. Its data processing agreement "
        "stays to be accepted by its owner, who is asked on every page until it is."),
        validators=[DataRequired(_l("Enter the name of the person who asked for this space."))])
    instructed_by_email = StringField(_l("Their e-mail address"), description=_l(
        "They are invited by e-mail to become the space's owner (they may hand the role to "
        "someone else afterwards)."), validators=[
        DataRequired(_l("Enter a valid e-mail address, such as name@example.org."))],
        render_kw={"type": "email", "autocomplete": "off"})


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
