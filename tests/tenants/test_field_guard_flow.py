"""The guard's three verdicts through the field editor, over HTTP: a refusal is a translated
error quoting the words found; a warning (meal options, accessibility needs) is saved only once
the admin ticks its box, and accessibility needs only with a purpose in every language of the
label; the acknowledgement is logged in the instructions log."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tenants import api as tenants_api
from tenants.fields import services
from tenants.fields.models import CustomField
from tenants.instructions.models import Instruction
from tests import factories
from tests.fixtures.people import sign_in_member

NEW = "/t/acme/admin/form/fields/new"
HTMX = {"HX-Request": "true"}
WARNING = "Check this field before saving it"
REFUSAL = "This field cannot be saved"


def post(client: FlaskClient, url: str, headers: dict | None = None,
         **changes: str):  # type: ignore[no-untyped-def]
    """A valid editor post (label, purpose in both languages) with ``changes``."""
    data = {"label-fr": "Entreprise", "label-en": "Company", "help-fr": "", "help-en": "",
            "purpose-fr": "Organiser les groupes", "purpose-en": "Organise groups",
            "condition": "", **changes}
    return client.post(url, data=data, headers=headers or {})


def meal(**changes: str) -> dict[str, str]:
    """A single choice of meals with a halal option."""
    return {"label-fr": "Repas", "label-en": "Meal", "purpose-fr": "Commander les repas",
            "purpose-en": "Order the meals", "options-0-key": "",
            "options-0-label-fr": "Végétarien", "options-0-label-en": "Vegetarian",
            "options-1-key": "", "options-1-label-fr": "Halal", "options-1-label-en": "Halal",
            **changes}


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def section(page: str) -> str:
    """The warnings section's opening tag."""
    found = re.search(r'<section class="notice guard-warnings"[^>]*>', page)
    assert found, "no warnings section"
    return found.group()


def checkbox(page: str) -> str:
    """The acknowledgement checkbox as rendered."""
    found = re.search(r'<input type="checkbox" id="acknowledge"[^>]*>', page)
    assert found, "no acknowledgement checkbox"
    return found.group()


def labels() -> list[str]:
    with tenants_api.tenant_context("acme") as db:
        return [f.label["fr"] for f in db.scalars(select(CustomField).order_by(CustomField.id))]


def logged() -> list[str]:
    with tenants_api.tenant_context("acme") as db:
        return list(db.scalars(select(Instruction.summary).order_by(Instruction.id)))


def test_a_meal_warning_is_saved_only_once_acknowledged(admin: FlaskClient) -> None:
    warned = post(admin, f"{NEW}?type=choice", **meal())
    assert warned.status_code == 422
    page = html(warned)
    assert WARNING in page and REFUSAL not in page and 'role="alert"' in section(page)
    assert "“Halal” found" in page and "may reveal a person&#39;s religion" in page
    assert 'value="meal"' in checkbox(page) and "checked" not in checkbox(page)
    assert labels() == []

    saved = post(admin, f"{NEW}?type=choice", **meal(acknowledge="meal"))
    assert saved.status_code == 303
    assert labels() == ["Repas"]
    assert logged()[-1] == "Acknowledged the warning on the field “Meal”: “Halal”"


def test_acknowledging_another_warning_does_not_count(admin: FlaskClient) -> None:
    response = post(admin, f"{NEW}?type=text", acknowledge="meal",
                    **{"label-en": "Do you use a wheelchair?"})
    assert response.status_code == 422
    assert "“wheelchair” found in “Do you use a wheelchair?”" in html(response)
    assert 'value="accessibility"' in checkbox(html(response))
    assert labels() == []


def test_a_new_warning_asks_again(admin: FlaskClient) -> None:
    response = post(admin, f"{NEW}?type=choice", **meal(
        acknowledge="meal", **{"help-en": "Tell us if you come in a wheelchair"}))
    assert response.status_code == 422
    box = checkbox(html(response))
    assert 'value="accessibility,meal"' in box and "checked" not in box
    assert labels() == []


def test_accessibility_needs_a_purpose_in_every_language_of_the_label(
        admin: FlaskClient) -> None:
    field = {"label-fr": "Venez-vous en fauteuil roulant ?",
             "label-en": "Will you come in a wheelchair?", "acknowledge": "accessibility"}
    refused = post(admin, f"{NEW}?type=checkbox", **field, **{"purpose-en": ""})
    assert refused.status_code == 422
    page = html(refused)
    assert "state its purpose in every language of its label" in page
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*id="purpose-en"|'
                     r'<textarea[^>]*id="purpose-en"[^>]*aria-invalid="true"', page)
    assert 'checked' in checkbox(page)  # the acknowledgement is kept while fixing the rest
    assert labels() == []

    # A language the label is not written in needs no purpose.
    assert post(admin, f"{NEW}?type=checkbox", **{**field, "label-en": "", "purpose-en": ""}
                ).status_code == 303
    assert post(admin, f"{NEW}?type=checkbox", **field).status_code == 303
    assert labels() == ["Venez-vous en fauteuil roulant ?"] * 2


@pytest.mark.parametrize(("label", "found", "reason"), [
    ("Numéro de sécurité sociale", "“Numéro de sécurité sociale” found", "2019-341"),
    ("Êtes-vous croyant ?", "“croyant” found in “Êtes-vous croyant ?”", "religious"),
    ("Pour quel parti votez-vous ?", "“Pour quel parti” found in “Pour quel parti votez-vous ?”",
     "political opinions"),
    ("Repas halal pendant le ramadan", "“ramadan” found in “Repas halal pendant le ramadan”",
     "religious"),
])
def test_a_refusal_quotes_the_words_and_no_acknowledgement_lifts_it(
        admin: FlaskClient, label: str, found: str, reason: str) -> None:
    response = post(admin, f"{NEW}?type=text", acknowledge="meal,accessibility,national_id",
                    **{"label-fr": label})
    assert response.status_code == 422
    page = html(response)
    assert REFUSAL in page and found in page and reason in page
    assert labels() == []


def test_the_other_meaning_of_a_word_is_saved_without_a_warning(admin: FlaskClient) -> None:
    response = post(admin, f"{NEW}?type=text",
                    **{"label-fr": "Race de votre chien", "label-en": "Your dog's breed"})
    assert response.status_code == 303
    assert labels() == ["Race de votre chien"]


def test_an_existing_warned_field_shows_its_warning_on_edit(admin: FlaskClient) -> None:
    field_id = factories.custom_field("acme", "text", label={"fr": "Repas casher",
                                                             "en": "Kosher meal"})
    url = f"/t/acme/admin/form/fields/{field_id}/edit"
    page = html(admin.get(url))
    assert WARNING in page and "“casher” found in “Repas casher”" in page
    assert 'role="alert"' not in section(page)  # shown on arrival, not announced as an error
    assert "checked" not in checkbox(page)
    data = {"label-fr": "Repas casher", "label-en": "Kosher meal"}
    assert post(admin, url, **data).status_code == 422
    assert post(admin, url, **data, acknowledge="meal").status_code == 303


def test_htmx_gets_the_warning_inside_the_form(admin: FlaskClient) -> None:
    fragment = html(post(admin, f"{NEW}?type=choice", headers=HTMX, **meal()))
    assert "<html" not in fragment
    form = fragment[fragment.index("<form"):fragment.index("</form>")]
    assert WARNING in form and 'name="acknowledge"' in form


def test_the_messages_are_in_french(client: FlaskClient) -> None:
    admin = sign_in_member(client, "acme", "admin")  # the tenant's default language: French
    refused = html(post(admin, f"{NEW}?type=text", **{"label-fr": "Quelle est votre religion ?"}))
    assert "« religion » trouvé dans « Quelle est votre religion ? »" in refused
    assert "Ce champ ne peut pas être enregistré" in refused
    warned = html(post(admin, f"{NEW}?type=text", **{"label-fr": "Fauteuil roulant"}))
    assert "« Fauteuil roulant » trouvé" in warned
    assert "Vérifiez ce champ avant de" in warned


def test_the_services_keep_warnings_and_purposes(ctx) -> None:  # type: ignore[no-untyped-def]
    halal = [{"key": None, "label": {"fr": "Halal"}}]
    with tenants_api.tenant_context("acme") as db:
        with pytest.raises(services.SensitiveData) as refused:
            services.create_field(db, "choice", label={"fr": "Repas"}, purpose={"fr": "Repas"},
                                  options=halal)
        assert [(f.category, f.word) for f in refused.value.findings] == [("meal", "Halal")]
        with pytest.raises(services.FieldError) as no_purpose:
            services.create_field(db, "checkbox", label={"fr": "PMR", "en": "Wheelchair"},
                                  purpose={"fr": "Accueil"}, acknowledged={"accessibility"})
        assert no_purpose.value.field_name == "purpose-en"
        services.create_field(db, "choice", label={"fr": "Repas"}, purpose={"fr": "Repas"},
                              options=halal, acknowledged={"meal"})
    assert labels() == ["Repas"]
