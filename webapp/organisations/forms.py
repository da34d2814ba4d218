from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from webapp.organisations.models import TenantStatus


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
    # Labels are translated in the template, which also shows statuses an operator cannot pick.
    status = SelectField(choices=[SelectChoice(s.value) for s in
                                  (TenantStatus.ACTIVE, TenantStatus.READ_ONLY,
                                   TenantStatus.SUSPENDED)])
