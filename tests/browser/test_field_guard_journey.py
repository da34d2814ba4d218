"""The sensitive-data guard in the field editor, as an admin meets it in Chromium (French and
English): a halal option is held back by a warning until the admin ticks its box, an
accessibility question also needs its purpose in each language of its label, and a national
identification number is refused with a message quoting the words typed. Every page is checked
for CSP violations (the ``pages`` fixture) and the warning and refusal pages with axe-core."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tenants.fields import guard
from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.fixtures.browser import accessibility, member_sign_in, shot, t

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MEAL = {"fr": "Repas", "en": "Meal"}
MEAL_OPTIONS = ({"fr": "Végétarien", "en": "Vegetarian"}, {"fr": "Halal", "en": "Halal"})
ACCESS = {"fr": "Venez-vous en fauteuil roulant ?", "en": "Will you come in a wheelchair?"}
NIR = {"fr": "Votre numéro de sécurité sociale", "en": "Your social security number"}
PURPOSE = {"fr": "Prévoir l'accueil", "en": "Plan the welcome"}


def _seed(settings: dict, slug: str, admin_email: str) -> None:
    """In a child process: a French tenant and its admin (see test_registration_journey)."""
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Garde", language="fr")
        factories.member(slug, admin_email, "admin")
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def start_field(page: Page, language: str, field_type: str, label: dict[str, str],
                purpose: dict[str, str], options: tuple[dict[str, str], ...] = ()) -> None:
    """From the designer: a new field of ``field_type``, filled in, then "Save the field"."""
    page.locator("#new-field-type").select_option(field_type)
    page.get_by_role("button", name=t(language, "Add a field"), exact=True).click()
    for lang, text in label.items():
        page.locator(f"#label-{lang}").fill(text)
    for lang, text in purpose.items():
        page.locator(f"#purpose-{lang}").fill(text)
    for row, option in enumerate(options):
        for lang, text in option.items():
            page.locator(f"#options-{row}-label-{lang}").fill(text)
    page.get_by_role("button", name=t(language, "Save the field")).click()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_guard_warns_refuses_and_quotes(pages: Pages, live_server: LiveServer,
                                            language: str) -> None:
    slug = f"guard-{language}-{secrets.token_hex(3)}"
    admin_email = f"admin@{slug}.example.org"
    in_child(_seed, live_server.settings, slug, admin_email)
    designer = f"{live_server.url}/t/{slug}/admin/form"
    page = pages.open()
    member_sign_in(page, designer, admin_email, language)
    found: list[str] = []
    table = page.locator("#custom-fields table")

    # A halal option: a warning, nothing saved until the box is ticked.
    start_field(page, language, "choice", MEAL, PURPOSE, MEAL_OPTIONS)
    warning = page.get_by_role("alert", name=t(language, "Check this field before saving it"))
    expect(warning).to_contain_text(t(language, "“%(word)s” found", word="Halal"))
    expect(warning).to_contain_text(t(language, str(guard.explanation("meal"))))
    expect(page).to_have_url(re.compile(r"/admin/form/fields/new\?type=choice$"))
    found += accessibility(page, f"{language}-guard-warning")
    if language == "fr":
        shot(page, "designer-warning-fr")
    page.get_by_label(t(language, "I have read this warning and need this field for the "
                                  "purpose stated below.")).check()
    page.get_by_role("button", name=t(language, "Save the field")).click()
    expect(page).to_have_url(re.compile(r"/admin/form(#custom-fields)?$"))
    expect(table.get_by_role("rowheader")).to_have_text([MEAL[language]])

    # An accessibility need: acknowledged, but the English purpose is missing.
    start_field(page, language, "checkbox", ACCESS, {"fr": PURPOSE["fr"]})
    warning = page.get_by_role("alert", name=t(language, "Check this field before saving it"))
    # The French label is scanned first (the tenant's default language), whatever the page's.
    expect(warning).to_contain_text(t(language, "“%(word)s” found in “%(text)s”",
                                      word="fauteuil roulant", text=ACCESS["fr"]))
    page.get_by_label(t(language, "I have read this warning and need this field for the "
                                  "purpose stated below.")).check()
    page.get_by_role("button", name=t(language, "Save the field")).click()
    purpose_en = page.locator("#purpose-en")
    expect(purpose_en).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#purpose-en-error")).to_contain_text(t(
        language, "This field asks about accessibility needs, which may reveal health data: "
                  "state its purpose in every language of its label (why you ask, and how the "
                  "answer is used)."))
    purpose_en.fill(PURPOSE["en"])
    page.get_by_role("button", name=t(language, "Save the field")).click()
    expect(table.get_by_role("rowheader")).to_have_text([MEAL[language], ACCESS[language]])

    # A national identification number: refused, quoting the words typed; nothing saved.
    start_field(page, language, "text", NIR, PURPOSE)
    refusal = page.get_by_role("alert", name=t(language, "This field cannot be saved"))
    expect(refusal).to_contain_text(t(language, "“%(word)s” found in “%(text)s”",
                                      word="numéro de sécurité sociale", text=NIR["fr"]))
    expect(refusal).to_contain_text(t(language, str(guard.explanation("national_id"))))
    found += accessibility(page, f"{language}-guard-refusal")
    page.get_by_role("link", name=t(language, "Back to the registration form")).click()
    expect(table.get_by_role("rowheader")).to_have_count(2)
    assert found == []
