from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from webapp.organisations.models import TenantStatus


class TenantForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=[
        DataRequired(_l("Enter the organisation's name.")), Length(max=200)])
    slug = StringField(_l("Address name"), description=_l(
        "Lowercase letters, digits and hyphens; it appears in the address /t/<name>/."),
        validators=[DataRequired(_l("Enter an address name."))])
    default_language = SelectField(_l("Default language"),
                                   choices=[("fr", "Français"), ("en", "English")])


class StatusForm(FlaskForm):
    status = SelectField(choices=[(s.value, s.value) for s in
                                  (TenantStatus.ACTIVE, TenantStatus.READ_ONLY,
                                   TenantStatus.SUSPENDED)])
