"""A tenant's processor register (GDPR Art. 30(2)), generated from its live configuration.

Parvis keeps it for each client organisation: the processing it carries out for the tenant
(registration fields, standard and custom, with their purposes), the tenant's third-party
services, the sub-processors, transfers outside the EU, retention and security measures. The
tenant's configuration is read through ``tenants.api.processing_config`` (no participant data).
Retention periods are the tenant's own retention matrix (tenants/retention), so a change of
the matrix makes a new register version.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core.cookie_lifetimes import Lifetime
from core.web.i18n import country
from tenants import api as tenants_api
from webapp.catalogue.forms import SERVICE_PURPOSES
from webapp.subprocessors.forms import SAFEGUARDS
from webapp.subprocessors.models import Safeguard, SubProcessor

# As the registration form's labels (tenants.fields.answers).
STANDARD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "mobile_phone": _l("Mobile phone"), "city": _l("City"), "postal_code": _l("Postal code"),
    "job_function": _l("Job function"),
}
# The same labels as the form designer's (tenants.fields.forms, which is not importable here).
FIELD_TYPES = {
    "text": _l("Short text"), "textarea": _l("Long text"), "number": _l("Number"),
    "date": _l("Date"), "choice": _l("Single choice"), "multichoice": _l("Multiple choice"),
    "checkbox": _l("Checkbox"), "email": _l("E-mail address"), "phone": _l("Phone number"),
    "url": _l("Web address"), "country": _l("Country"),
}
HEADINGS = (_l("Section"), _l("Item"), _l("Details"), _l("Retention or location"))


@dataclass(frozen=True)
class Line:
    section: str
    item: str
    details: str
    where_or_how_long: str

    def cells(self) -> list[str]:
        return [self.section, self.item, self.details, self.where_or_how_long]


def _language(language: str) -> str:
    return "en" if language == "en" else "fr"


def _pick(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or next((t for t in texts.values() if t), "")


def snapshot(slug: str, sub_processors: list[SubProcessor]) -> dict:
    """What the register is generated from, as plain values: the tenant's live configuration
    and the listed sub-processors. Stored as a version when it changes (``services.remember``)."""
    return {"config": tenants_api.processing_config(slug),
            "sub_processors": [{"name": e.name, "purpose_fr": e.purpose_fr,
                                "purpose_en": e.purpose_en, "location": e.location,
                                "safeguard": e.safeguard.value} for e in sub_processors]}


def kept(config: dict, kind: str) -> str:
    """How long the tenant's retention matrix keeps ``kind``: "12 months"."""
    matrix = config["retention"]
    # A register version stored before answers had their own row kept them as registrations.
    rule = matrix.get(kind) or matrix["registrations" if kind == "form_answers" else kind]
    number, unit = rule["duration"], rule["unit"]
    if unit == "days":
        return ngettext("%(num)d day", "%(num)d days", number)
    if unit == "months":
        return ngettext("%(num)d month", "%(num)d months", number)
    return ngettext("%(num)d year", "%(num)d years", number)


def build(source: dict, language: str) -> list[Line]:
    """The register's lines from a ``snapshot``, in ``language`` (the tenant's texts fall back
    to another one)."""
    config, sub_processors = source["config"], source["sub_processors"]
    lines: list[Line] = []

    section = _("Processing carried out for the organisation")
    asked = [_("E-mail address (required)")] + [
        f"{STANDARD_LABELS[key]} ({_('required') if mode == 'required' else _('optional')})"
        for key, mode in config["standard_fields"].items() if mode != "off"]
    lines.append(Line(section, _("Participant accounts and registration form"),
                      ", ".join(asked),
                      _("Erased %(duration)s after the last sign-in (warned 30 days before); "
                        "an account its owner deletes is erased after %(grace)s",
                        duration=kept(config, "inactive_accounts"),
                        grace=kept(config, "deleted_accounts"))))
    for field in config["custom_fields"]:
        purpose = _pick(field["purpose"], language) or _("No purpose stated")
        lines.append(Line(section, _("Custom field: %(label)s", label=_pick(field["label"],
                                                                           language)),
                          _("%(kind)s, %(need)s. Purpose: %(purpose)s",
                            kind=FIELD_TYPES.get(field["type"], field["type"]),
                            need=_("required") if field["required"] else _("optional"),
                            purpose=purpose),
                          _("%(duration)s after the end of the event of the registration "
                            "the answer was given for",
                            duration=kept(config, "form_answers"))))
    lines += [
        Line(section, _("Registrations and attendance"), _("Events, registrations, waiting "
                                                          "lists, attendance"),
             _("%(duration)s after the event ends", duration=kept(config, "registrations"))),
        # PRODUCT.md, "Cookie consent": registration consents use the same ledger; a
        # withdrawal of the news opt-in is recorded there (tenants/consent/ledger.py).
        Line(section, _("Registration consents and news opt-in"),
             _("Versions of the privacy notice and terms accepted at sign-up, and the opt-in "
               "to the organisation's news; each change, a withdrawal of the opt-in included, "
               "is a new proof in the consent ledger, chained to the one it replaces"),
             _("The current proof while the account exists; a replaced one %(duration)s after "
               "its replacement", duration=kept(config, "consent_proofs"))),
        Line(section, _("Ratings and comments"), _("Stars and comments on events"),
             _("Comments anonymised %(duration)s after posting",
               duration=kept(config, "rating_comments"))),
        Line(section, _("Cookie consent proofs"), _("Random consent id, choices, banner "
                                                    "version, time; no personal data"),
             _("%(duration)s after the consent ends", duration=kept(config, "consent_proofs"))),
        Line(section, _("Connection logs"), _("Sign-ins and failed sign-ins, time"),
             kept(config, "connection_logs")),
        Line(section, _("Data-subject requests"), _("Requests, identity checks, answers"),
             _("%(duration)s after closing", duration=kept(config, "rights_requests"))),
    ]

    section = _("Third-party services of the organisation")
    for service in config["services"]:
        details = "{} — {}".format(
            service["provider"], SERVICE_PURPOSES.get(service["purpose"], service["purpose"]))
        # Each cookie with its lifetime (a number and a unit, at most 13 months: PRODUCT.md,
        # "Cookie consent"; versions stored before lifetimes were structured have none).
        cookies = service.get("cookies") or []
        if cookies:
            details += ". " + _("Cookies: %(cookies)s", cookies=", ".join(
                f"{c.get('name', '')} ({Lifetime.of(c)})" for c in cookies))
        lines.append(Line(section, service["name"], details, country(service["location"])))
    if not config["services"]:
        lines.append(Line(section, _("None"), "", ""))

    section = _("Sub-processors")
    for entry in sub_processors:
        lines.append(Line(section, entry["name"], entry[f"purpose_{_language(language)}"],
                          f"{country(entry['location'])} ({SAFEGUARDS[entry['safeguard']]})"))

    section = _("Transfers outside the EU")
    transfers = [(e["name"], _("Sub-processor"), e["safeguard"], e["location"])
                 for e in sub_processors if e["safeguard"] != Safeguard.EU.value]
    # Services enabled by the organisation, whose transfer its owner authorised.
    transfers += [(s["name"], _("Third-party service authorised by the organisation"),
                   s["safeguard"], s["location"])
                  for s in config["services"] if s.get("safeguard")]
    for name, kind, safeguard, location in transfers:
        lines.append(Line(section, name, f"{kind} — {SAFEGUARDS[safeguard]}", country(location)))
    if not transfers:
        lines.append(Line(section, _("None"), _("Every sub-processor and service processes "
                                                "the data in the EU/EEA."), ""))

    lines.append(Line(_("Security measures"), _("Data processing agreement, section 5"),
                      _("Separate database schema per organisation, encryption in transit, "
                        "argon2id passwords, role-based access, logged exports, backups in "
                        "France"), ""))
    return lines
