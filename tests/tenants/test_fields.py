"""The registration form designer: standard fields, custom fields, options, conditions, guard."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tenants import api as tenants_api
from tenants.fields import services
from tenants.fields.models import Answer, CustomField, StandardField
from tests import factories
from tests.fixtures.people import sign_in_member

FORM = "/t/acme/admin/form"
HTMX = {"HX-Request": "true"}


def texts(**changes: object) -> dict:
    """A valid editor post for any type: label, purpose, no help, always shown."""
    data: dict = {"label-fr": "Entreprise", "label-en": "Company", "help-fr": "", "help-en": "",
                  "purpose-fr": "Organiser les groupes", "purpose-en": "Organise groups",
                  "condition": ""}
    data.update(changes)
    return data


def options(*rows: tuple[str, str, str], blank: int = 0) -> dict:
    """Option rows (key or "", French label, English label), then ``blank`` empty rows."""
    data: dict = {}
    for i, (key, fr, en) in enumerate([*rows, *[("", "", "")] * blank]):
        data.update({f"options-{i}-key": key, f"options-{i}-label-fr": fr,
                     f"options-{i}-label-en": en})
    return data


def all_fields(slug: str = "acme") -> list[CustomField]:
    with tenants_api.tenant_context(slug) as db:
        return list(db.scalars(select(CustomField).order_by(CustomField.id)))


def one(field_id: int, slug: str = "acme") -> CustomField:
    with tenants_api.tenant_context(slug) as db:
        return db.get(CustomField, field_id)


def snapshot(slug: str = "acme") -> list[tuple]:
    """Every column of every field and answer: to show that a refusal wrote nothing."""
    with tenants_api.tenant_context(slug) as db:
        fields = [tuple(getattr(f, c.key) for c in CustomField.__table__.columns)
                  for f in db.scalars(select(CustomField).order_by(CustomField.id))]
        answers = [(a.id, a.field_id, a.value)
                   for a in db.scalars(select(Answer).order_by(Answer.id))]
        modes = [(s.key, s.mode) for s in db.scalars(select(StandardField))]
        return [fields, answers, modes]


def answer(field_id: int, value: object, email: str = "ada@acme.test") -> int:
    """A participant's answer, written directly with the model."""
    person = factories.participant("acme", email)
    with tenants_api.tenant_context("acme") as db:
        row = Answer(participant_id=person, field_id=field_id, value=value)
        db.add(row)
        db.flush()
        return row.id


def choice_field(**fields: object) -> int:
    values: dict = {"label": {"fr": "Repas", "en": "Meal"}, "purpose": {"fr": "Prévoir",
                                                                       "en": "Plan meals"},
                    "options": [{"key": "veg", "label": {"fr": "Végétarien", "en": "Vegetarian"},
                                 "archived": False},
                                {"key": "any", "label": {"fr": "Sans préférence",
                                                         "en": "No preference"},
                                 "archived": False}]}
    values.update(fields)
    return factories.custom_field("acme", "choice", **values)


def page(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


# --- the designer page -----------------------------------------------------------------------


def test_designer_lists_standard_and_custom_fields(app, admin):
    meal = choice_field(position=1)
    factories.custom_field("acme", "text", position=2, condition_field_id=meal,
                           condition_value="veg", label={"fr": "Précisez", "en": "Details"})
    html = page(admin.get(FORM))
    assert "E-mail address" in html and "Password" in html
    assert html.count("Always asked and required") == 2
    # Defaults: first and last names required, the rest off.
    assert re.search(r'id="first_name" name="first_name">.*?<option selected value="required"',
                     html)
    assert re.search(r'id="city" name="city">.*?<option selected value="off"', html)
    assert "Meal" in html and "Single choice (2 options)" in html and "Plan meals" in html
    assert "If “Meal” is “Vegetarian”" in html
    assert f"/t/acme/admin/form/fields/{meal}/edit" in html
    assert "/t/acme/admin/form/preview" in html
    assert 'name="type"' in html  # the type chooser


def test_the_designer_costs_the_same_whatever_the_number_of_fields(app, admin, statements):
    choice_field()
    admin.get(FORM)  # the first read creates the settings row
    with statements:
        assert admin.get(FORM).status_code == 200
    few = statements.count
    for i in range(12):
        factories.custom_field("acme", "text", position=i + 2)
    admin.get(FORM)  # the design changed: the settings row is read again once, then kept
    with statements:
        assert admin.get(FORM).status_code == 200
    assert statements.count == few


def test_standard_modes_are_saved(app, admin):
    with app.app_context(), tenants_api.tenant_context("acme") as db:
        assert services.standard_modes(db) == {
            "first_name": "required", "last_name": "required", "mobile_phone": "off",
            "city": "off", "postal_code": "off", "job_function": "off"}
    modes = {"first_name": "optional", "last_name": "required", "mobile_phone": "off",
             "city": "required", "postal_code": "optional", "job_function": "off"}
    saved = admin.post(FORM, data=modes)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/admin/form?saved=1")
    with tenants_api.tenant_context("acme") as db:
        assert services.standard_modes(db) == modes
    assert "The standard fields are saved." in page(admin.get(saved.headers["Location"]))

    # With htmx, the block comes back in place.
    fragment = admin.post(FORM, data={**modes, "city": "off"}, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in page(fragment)
    assert "The standard fields are saved." in page(fragment)

    before = snapshot()
    refused = admin.post(FORM, data={**modes, "city": "sometimes"})
    assert refused.status_code == 422 and "Not a valid choice" in page(refused)
    assert snapshot() == before


# --- creating and editing --------------------------------------------------------------------


def test_admin_creates_and_edits_a_text_field(app, admin):
    assert "Short text" in page(admin.get(f"{FORM}/fields/new?type=text"))
    created = admin.post(f"{FORM}/fields/new?type=text",
                         data=texts(**{"help-en": "Where you work", "required": "y"}))
    assert created.status_code == 303
    assert created.headers["Location"].endswith("/t/acme/admin/form#custom-fields")
    [field] = all_fields()
    assert (field.type, field.label, field.required, field.position) == (
        "text", {"fr": "Entreprise", "en": "Company"}, True, 1)
    assert field.help == {"fr": "", "en": "Where you work"}
    assert field.purpose == {"fr": "Organiser les groupes", "en": "Organise groups"}

    edit = f"{FORM}/fields/{field.id}/edit"
    form = page(admin.get(edit))
    assert 'value="Company"' in form and "cannot be changed afterwards" in form
    assert admin.post(edit, data=texts(**{"label-en": "Employer"})).status_code == 303
    changed = one(field.id)
    assert changed.label["en"] == "Employer" and changed.required is False

    # A second field goes after the first.
    admin.post(f"{FORM}/fields/new?type=email", data=texts(**{"label-fr": "Courriel pro"}))
    assert [f.position for f in all_fields()] == [1, 2]


def test_htmx_save_redirects_the_whole_page(admin):
    saved = admin.post(f"{FORM}/fields/new?type=checkbox", data=texts(), headers=HTMX)
    assert saved.status_code == 204
    assert saved.headers["HX-Redirect"].endswith("/t/acme/admin/form#custom-fields")


def test_label_and_purpose_are_required_in_the_default_language(admin):
    refused = admin.post(f"{FORM}/fields/new?type=text",
                         data=texts(**{"label-fr": " ", "purpose-fr": ""}))
    assert refused.status_code == 422
    assert page(refused).count("This field is required.") == 2
    assert all_fields() == []


def test_new_field_needs_a_known_type(admin):
    chooser = admin.get(f"{FORM}/fields/new")
    assert chooser.status_code == 200 and "cannot be changed once the field exists" in page(
        chooser)
    assert admin.get(f"{FORM}/fields/new?type=blood_group").status_code == 404
    assert admin.post(f"{FORM}/fields/new?type=blood_group", data=texts()).status_code == 404
    assert admin.post(f"{FORM}/fields/new", data=texts()).status_code == 404
    assert all_fields() == []


def test_the_type_cannot_be_changed(admin):
    field_id = factories.custom_field("acme", "text")
    edited = admin.post(f"{FORM}/fields/{field_id}/edit",
                        data=texts(type="number", min_value="1", max_value="5"))
    assert edited.status_code == 303
    field = one(field_id)
    assert (field.type, field.min_value, field.max_value) == ("text", None, None)


def test_number_bounds(admin):
    created = admin.post(f"{FORM}/fields/new?type=number",
                         data=texts(min_value="2,50", max_value=" 10 "))
    assert created.status_code == 303
    [field] = all_fields()
    assert (field.min_value, field.max_value) == ("2.5", "10")

    before = snapshot()
    for low, high in (("11", "10"), ("NaN", ""), ("1e999", ""), ("0.00000000001", ""),
                      ("", "1" * 16), ("abc", "")):
        refused = admin.post(f"{FORM}/fields/{field.id}/edit",
                             data=texts(min_value=low, max_value=high))
        assert refused.status_code == 422, (low, high)
    assert "The maximum must not be smaller than the minimum." in page(
        admin.post(f"{FORM}/fields/{field.id}/edit", data=texts(min_value="3", max_value="1")))
    assert snapshot() == before


def test_date_bounds(admin):
    created = admin.post(f"{FORM}/fields/new?type=date",
                         data=texts(min_value="2031-01-01", max_value="2031-12-31"))
    assert created.status_code == 303
    [field] = all_fields()
    assert (field.min_value, field.max_value) == ("2031-01-01", "2031-12-31")
    assert 'value="2031-01-01"' in page(admin.get(f"{FORM}/fields/{field.id}/edit"))
    before = snapshot()
    for low, high in (("2031-12-31", "2031-01-01"), ("31/12/2031", ""), ("2031-02-30", "")):
        assert admin.post(f"{FORM}/fields/{field.id}/edit",
                          data=texts(min_value=low, max_value=high)).status_code == 422
    assert snapshot() == before


def test_changing_bounds_leaves_stored_answers_alone(admin):
    field_id = factories.custom_field("acme", "number", min_value="0", max_value="100")
    answer(field_id, 80)
    assert admin.post(f"{FORM}/fields/{field_id}/edit",
                      data=texts(min_value="0", max_value="10")).status_code == 303
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(Answer.value).where(Answer.field_id == field_id)) == 80


# --- options ---------------------------------------------------------------------------------


def test_choice_options_get_stable_keys(admin):
    form = page(admin.get(f"{FORM}/fields/new?type=multichoice"))
    assert form.count('name="options-') >= 3 * 3  # three blank rows: key and two labels each
    created = admin.post(f"{FORM}/fields/new?type=multichoice", data=texts(**options(
        ("", "Matin", "Morning"), ("", "Après-midi", "Afternoon"), blank=3)))
    assert created.status_code == 303
    [field] = all_fields()
    keys = [o["key"] for o in field.options]
    assert len(keys) == 2 and all(re.fullmatch(r"[0-9a-f]{6}", k) for k in keys)
    assert [o["label"]["en"] for o in field.options] == ["Morning", "Afternoon"]

    # Renaming and reordering keep the keys; a new row gets a new key.
    edited = admin.post(f"{FORM}/fields/{field.id}/edit", data=texts(**options(
        (keys[1], "Après-midi", "In the afternoon"), (keys[0], "Matin", "Morning"),
        ("", "Soir", "Evening"), blank=3)))
    assert edited.status_code == 303
    changed = one(field.id)
    assert [o["key"] for o in changed.options][:2] == [keys[1], keys[0]]
    assert [o["label"]["en"] for o in changed.options] == [
        "In the afternoon", "Morning", "Evening"]
    assert len({o["key"] for o in changed.options}) == 3


def test_option_rows_are_checked(admin):
    field_id = choice_field()
    edit = f"{FORM}/fields/{field_id}/edit"
    before = snapshot()
    duplicate = admin.post(edit, data=texts(**options(("veg", "Végétarien", "Vegetarian"),
                                                      ("any", "végétarien", "Any"))))
    assert duplicate.status_code == 422
    assert "Two options are called “végétarien”" in page(duplicate)
    unknown = admin.post(edit, data=texts(**options(("veg", "Végétarien", "Vegetarian"),
                                                    ("zzz999", "Autre", "Other"))))
    assert unknown.status_code == 422 and "reload the page" in page(unknown)
    unnamed = admin.post(edit, data=texts(**options(("veg", "", "Vegetarian"))))
    assert unnamed.status_code == 422 and "Give this option a label, or remove it." in page(
        unnamed)
    none = admin.post(edit, data=texts(**options(blank=3)))
    assert none.status_code == 422 and "Add at least one option." in page(none)
    too_many = admin.post(edit, data=texts(**options(
        *[("", f"Choix {i}", "") for i in range(101)])))
    assert too_many.status_code == 422 and "at most 100 options" in page(too_many)
    assert snapshot() == before


def test_add_option_returns_one_more_row_and_saves_nothing(admin):
    field_id = choice_field()
    before = snapshot()
    data = texts(action="add_option", **options(("veg", "Végétarien", "Vegetarian"),
                                                ("any", "Sans préférence", "No preference"),
                                                blank=1))
    fragment = admin.post(f"{FORM}/fields/{field_id}/edit", data=data, headers=HTMX)
    assert fragment.status_code == 200
    html = page(fragment)
    assert html.lstrip().startswith('<fieldset id="options"')
    assert len(re.findall(r'name="options-\d+-key"', html)) == 4
    assert snapshot() == before
    # Without JavaScript the same post shows the whole page.
    assert "<html" in page(admin.post(f"{FORM}/fields/{field_id}/edit", data=data))


def test_removing_an_option_archives_it_when_answered_and_deletes_it_otherwise(admin):
    field_id = choice_field(options=[
        {"key": "veg", "label": {"fr": "Végétarien", "en": "Vegetarian"}, "archived": False},
        {"key": "any", "label": {"fr": "Sans préférence", "en": "No preference"},
         "archived": False},
        {"key": "fish", "label": {"fr": "Poisson", "en": "Fish"}, "archived": False}])
    answer(field_id, "veg")
    data = texts(**options(("veg", "Végétarien", "Vegetarian"),
                           ("any", "Sans préférence", "No preference"),
                           ("fish", "Poisson", "Fish"), blank=3))
    data.update({"options-0-remove": "y", "options-2-remove": "y"})
    assert admin.post(f"{FORM}/fields/{field_id}/edit", data=data).status_code == 303
    field = one(field_id)
    assert field.options == [
        {"key": "any", "label": {"fr": "Sans préférence", "en": "No preference"},
         "archived": False},
        {"key": "veg", "label": {"fr": "Végétarien", "en": "Vegetarian"}, "archived": True}]
    # The archived option is out of the editor, and can't be brought back by its key.
    assert 'value="veg"' not in page(admin.get(f"{FORM}/fields/{field_id}/edit"))
    assert admin.post(f"{FORM}/fields/{field_id}/edit", data=texts(**options(
        ("any", "Sans préférence", "No preference"), ("veg", "Végétarien", "Vegetarian")))
    ).status_code == 422
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(Answer.value).where(Answer.field_id == field_id)) == "veg"


def test_multiple_choice_answers_keep_their_options_too(admin):
    field_id = factories.custom_field("acme", "multichoice", options=[
        {"key": "am", "label": {"fr": "Matin", "en": "Morning"}},
        {"key": "pm", "label": {"fr": "Soir", "en": "Evening"}}])
    answer(field_id, ["am", "pm"])
    assert admin.post(f"{FORM}/fields/{field_id}/edit", data=texts(**options(
        ("am", "Matin", "Morning")))).status_code == 303
    assert [(o["key"], o.get("archived")) for o in one(field_id).options] == [
        ("am", False), ("pm", True)]


# --- the sensitive-data guard ----------------------------------------------------------------


@pytest.mark.parametrize(("field_type", "data", "found", "reason"), [
    ("text", {"label-fr": "Santé"}, "“Santé” found", "health"),
    ("choice", options(("", "Végétarien", "Vegetarian"), ("", "Musulman", "Muslim")),
     "“Musulman” found", "religious"),
    ("checkbox", {"help-fr": "avez-vous un handicap ?"},
     "“handicap” found in “avez-vous un handicap ?”", "disability"),
])
def test_the_guard_refuses_sensitive_fields_and_says_why(admin, field_type, data, found, reason):
    refused = admin.post(f"{FORM}/fields/new?type={field_type}", data=texts(**data))
    assert refused.status_code == 422
    html = page(refused)
    assert "This field cannot be saved" in html and "Nothing was saved" in html
    assert found in html  # the words as the admin typed them
    assert reason in html  # the explanation
    assert "What to ask instead:" in html
    assert all_fields() == []


def test_the_guard_reads_every_language_and_every_text_on_edit(admin):
    field_id = factories.custom_field("acme", "text")
    before = snapshot()
    refused = admin.post(f"{FORM}/fields/{field_id}/edit",
                         data=texts(**{"purpose-en": "To know their religion"}))
    assert refused.status_code == 422
    assert "found in “To know their religion”" in page(refused)
    assert snapshot() == before


def test_the_guard_accepts_ordinary_words(admin):
    saved = admin.post(f"{FORM}/fields/new?type=choice", data=texts(
        **{"label-fr": "Société", "label-en": "Company"},
        **options(("", "Association", "Non-profit"), ("", "Entreprise", "Business"))))
    assert saved.status_code == 303
    assert [f.label["fr"] for f in all_fields()] == ["Société"]


def test_the_guard_also_guards_the_services(ctx):
    with tenants_api.tenant_context("acme") as db, pytest.raises(services.SensitiveData) as e:
        services.create_field(db, "text", label={"fr": "Votre orientation sexuelle"},
                              purpose={"fr": "x"})
    assert [f.category for f in e.value.findings] == ["sex_life"]
    assert all_fields() == []


# --- conditions ------------------------------------------------------------------------------


def test_a_condition_is_saved_and_offered_among_choice_fields_only(admin):
    meal = choice_field(position=1)
    consent = factories.custom_field("acme", "checkbox", position=2,
                                     label={"fr": "Photos", "en": "Photos"})
    factories.custom_field("acme", "text", position=3, label={"fr": "Ville", "en": "Town"})
    form = page(admin.get(f"{FORM}/fields/new?type=text"))
    assert f'value="{meal}:veg"' in form and f'value="{consent}:yes"' in form
    assert "Only if “Meal” is “Vegetarian”" in form and "Town" not in form
    created = admin.post(f"{FORM}/fields/new?type=text",
                         data=texts(condition=f"{consent}:yes"))
    assert created.status_code == 303
    field = all_fields()[-1]
    assert (field.condition_field_id, field.condition_value) == (consent, "yes")
    assert "If “Photos” is ticked" in page(admin.get(FORM))
    # A value that is not offered is refused by the form.
    assert admin.post(f"{FORM}/fields/new?type=text",
                      data=texts(condition=f"{meal}:nope")).status_code == 422


def test_condition_cycles_and_self_references_are_refused(admin):
    a = choice_field(position=1)
    b = factories.custom_field("acme", "checkbox", position=2, condition_field_id=a,
                               condition_value="veg")
    c = factories.custom_field("acme", "checkbox", position=3, condition_field_id=b,
                               condition_value="yes")
    before = snapshot()
    meal_options = options(("veg", "Végétarien", "Vegetarian"),
                           ("any", "Sans préférence", "No preference"))
    for target in (b, c):  # directly, and through another field
        refused = admin.post(f"{FORM}/fields/{a}/edit",
                             data=texts(condition=f"{target}:yes", **meal_options))
        assert refused.status_code == 422
        assert "the conditions would wait for each other" in page(refused)
    assert f'value="{a}:veg"' not in page(admin.get(f"{FORM}/fields/{a}/edit"))
    assert admin.post(f"{FORM}/fields/{a}/edit",
                      data=texts(condition=f"{a}:veg", **meal_options)).status_code == 422
    with tenants_api.tenant_context("acme") as db, pytest.raises(services.FieldError) as e:
        field = db.get(CustomField, a)
        services.update_field(db, field, label=field.label, purpose=field.purpose,
                              options=[{"key": o["key"], "label": o["label"]}
                                       for o in field.options],
                              condition_field_id=a, condition_value="veg")
    assert e.value.field_name == "condition"
    assert snapshot() == before


def test_an_option_a_condition_uses_cannot_be_removed(admin):
    meal = choice_field(position=1)
    factories.custom_field("acme", "text", position=2, condition_field_id=meal,
                           condition_value="veg", label={"fr": "Précisez", "en": "Details"})
    before = snapshot()
    refused = admin.post(f"{FORM}/fields/{meal}/edit", data=texts(**options(
        ("any", "Sans préférence", "No preference"))))
    assert refused.status_code == 422 and "“Details”" in page(refused)
    assert snapshot() == before


# --- removing and ordering -------------------------------------------------------------------


def test_removing_asks_first_without_javascript(admin):
    field_id = factories.custom_field("acme", "text")
    asked = admin.post(f"{FORM}/fields/{field_id}/archive")
    assert asked.status_code == 200
    assert 'name="confirm" value="yes"' in page(asked) and "it is deleted" in page(asked)
    assert len(all_fields()) == 1
    done = admin.post(f"{FORM}/fields/{field_id}/archive", data={"confirm": "yes"})
    assert done.status_code == 303
    assert all_fields() == []  # nobody had answered: deleted outright


def test_removing_a_field_with_answers_archives_it_and_keeps_the_answers(admin):
    field_id = factories.custom_field("acme", "text")
    first = answer(field_id, "Acme Corp")
    second = answer(field_id, "Globex", email="bob@acme.test")
    assert "the answers already given are kept" in page(
        admin.post(f"{FORM}/fields/{field_id}/archive"))
    fragment = admin.post(f"{FORM}/fields/{field_id}/archive", data={"confirm": "yes"},
                          headers=HTMX)
    assert fragment.status_code == 200 and "No fields of your own yet" in page(fragment)
    [field] = all_fields()
    assert field.archived_at is not None
    with tenants_api.tenant_context("acme") as db:
        assert [(a.id, a.value) for a in db.scalars(select(Answer).order_by(Answer.id))] == [
            (first, "Acme Corp"), (second, "Globex")]
    # Gone from the designer and its editor.
    assert "Company" not in page(admin.get(FORM))
    assert admin.get(f"{FORM}/fields/{field_id}/edit").status_code == 404
    assert admin.post(f"{FORM}/fields/{field_id}/archive",
                      data={"confirm": "yes"}).status_code == 404


def test_a_field_others_depend_on_cannot_be_removed(admin):
    meal = choice_field(position=1)
    factories.custom_field("acme", "text", position=2, condition_field_id=meal,
                           condition_value="veg", label={"fr": "Précisez", "en": "Details"})
    before = snapshot()
    refused = admin.post(f"{FORM}/fields/{meal}/archive", data={"confirm": "yes"},
                         headers=HTMX)
    assert refused.status_code == 422
    assert "Other fields are shown depending on this one: “Details”" in page(refused)
    assert snapshot() == before


def test_fields_move_up_and_down(admin):
    ids = [factories.custom_field("acme", "text", position=i, label={"fr": f"F{i}"})
           for i in (1, 2, 3)]

    def order() -> list[int]:
        with tenants_api.tenant_context("acme") as db:
            return [f.id for f in services.active_fields(db)]

    moved = admin.post(f"{FORM}/fields/{ids[2]}/move", data={"direction": "up"})
    assert moved.status_code == 303
    assert order() == [ids[0], ids[2], ids[1]]
    fragment = admin.post(f"{FORM}/fields/{ids[0]}/move", data={"direction": "down"},
                          headers=HTMX)
    assert fragment.status_code == 200 and "<table" in page(fragment)
    assert "<html" not in page(fragment)
    assert order() == [ids[2], ids[0], ids[1]]
    # At the ends nothing moves; an unknown direction is a bad request.
    admin.post(f"{FORM}/fields/{ids[2]}/move", data={"direction": "up"})
    admin.post(f"{FORM}/fields/{ids[1]}/move", data={"direction": "down"})
    assert order() == [ids[2], ids[0], ids[1]]
    assert admin.post(f"{FORM}/fields/{ids[1]}/move",
                      data={"direction": "sideways"}).status_code == 400


def test_equal_positions_are_mended_by_a_move(ctx):
    ids = [factories.custom_field("acme", "text", position=0) for _ in range(3)]
    with tenants_api.tenant_context("acme") as db:
        services.move(db, db.get(CustomField, ids[1]), "up")
    with tenants_api.tenant_context("acme") as db:
        assert [(f.id, f.position) for f in services.active_fields(db)] == [
            (ids[1], 1), (ids[0], 2), (ids[2], 3)]


def test_a_form_holds_at_most_100_fields(admin):
    with tenants_api.tenant_context("acme") as db:
        db.add_all([CustomField(type="text", label={"fr": f"Champ {i}"}, position=i)
                    for i in range(services.MAX_FIELDS)])
    assert "the most it can hold" in page(admin.get(FORM))
    before = snapshot()
    refused = admin.post(f"{FORM}/fields/new?type=text", data=texts())
    assert refused.status_code == 422 and "at most 100 fields" in page(refused)
    assert snapshot() == before


# --- preview, roles and tenants --------------------------------------------------------------


def test_preview_shows_the_form_as_participants_get_it(admin):
    meal = choice_field(required=True, position=1)
    factories.custom_field("acme", "text", position=2, condition_field_id=meal,
                           condition_value="veg", label={"fr": "Précisez", "en": "Details"})
    before = snapshot()
    html = page(admin.get(f"{FORM}/preview"))
    assert "Meal" in html and "Vegetarian" in html and "No preference" in html
    assert "First name" in html and "City" not in html and 'name="password"' in html
    assert "Answer only if you chose “Vegetarian” for “Meal”." in html
    # When a controlling answer changes, htmx gets the questions that then apply.
    shown = admin.post(f"{FORM}/preview", data={f"custom_{meal}": "veg"}, headers=HTMX)
    hidden = admin.post(f"{FORM}/preview", data={f"custom_{meal}": "any"}, headers=HTMX)
    assert shown.status_code == hidden.status_code == 200
    assert "Details" in page(shown) and "Details" not in page(hidden)
    assert "<html" not in page(shown)
    assert snapshot() == before


def test_labels_are_escaped(admin):
    factories.custom_field("acme", "text", label={"fr": "<b>x</b>", "en": "<script>x</script>"})
    for url in (FORM, f"{FORM}/preview"):
        html = page(admin.get(url))
        assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_viewers_may_look_but_not_change(app, client):
    sign_in_member(client, "acme", "viewer", in_english=True)
    field_id = choice_field()
    html = page(client.get(FORM))
    assert "Meal" in html and f"/fields/{field_id}/edit" not in html and "Add a field" not in html
    assert "<fieldset disabled>" in html
    assert client.get(f"{FORM}/preview").status_code == 200
    before = snapshot()
    for method, url, data in (
            ("post", FORM, {"city": "required"}),
            ("get", f"{FORM}/fields/new?type=text", None),
            ("post", f"{FORM}/fields/new?type=text", texts()),
            ("get", f"{FORM}/fields/{field_id}/edit", None),
            ("post", f"{FORM}/fields/{field_id}/edit", texts()),
            ("post", f"{FORM}/fields/{field_id}/move", {"direction": "down"}),
            ("post", f"{FORM}/fields/{field_id}/archive", {"confirm": "yes"})):
        assert getattr(client, method)(url, data=data).status_code == 403, url
    assert snapshot() == before


def test_visitors_and_participants_are_kept_out(client):
    assert client.get(FORM).status_code == 302  # to the staff login
    assert client.post(f"{FORM}/fields/new?type=text", data=texts()).status_code == 401
    assert all_fields() == []


def test_another_tenants_field_is_not_found(app, admin):
    theirs = factories.custom_field("globex", "choice", options=[
        {"key": "a", "label": {"fr": "A"}}])
    assert all_fields() == []  # so no acme field can answer to that id
    for method, url, data in (
            ("get", f"{FORM}/fields/{theirs}/edit", None),
            ("post", f"{FORM}/fields/{theirs}/edit", texts()),
            ("post", f"{FORM}/fields/{theirs}/move", {"direction": "up"}),
            ("post", f"{FORM}/fields/{theirs}/archive", {"confirm": "yes"}),
            ("get", f"{FORM}/fields/{2**63}/edit", None),
            ("get", f"{FORM}/fields/0/edit", None)):
        assert getattr(admin, method)(url, data=data).status_code == 404, url
    assert len(all_fields("globex")) == 1


# --- hostile input ---------------------------------------------------------------------------

fuzz = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
odd_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1),
    st.sampled_from(["\u202eSanté", "e\u0301", "\ufeff", "\r\n", "' OR '1'='1", "-1", "1e9999",
                     "NaN", "2031-02-30", "yes", "veg", "1:veg", "0:yes", "[]", "{}", "y",
                     "\U0001d54a\U0001d552\U0001d55f\U0001d565\U0001d556"]),
    st.text(min_size=1, max_size=30).map(lambda t: (t * 100_000)[:100_000]),
)
EDITOR_KEYS = ["label-fr", "label-en", "label", "help-fr", "help-en", "purpose-fr",
               "purpose-en", "required", "condition", "min_value", "max_value", "type",
               "options-0-key", "options-0-label-fr", "options-0-label-en", "options-0-remove",
               "options-1-key", "options-1-label-fr", "options-7-label-fr", "options-x-key",
               "options-99999999999999999999-label-fr", "action"]
posts = st.lists(st.tuples(st.sampled_from(EDITOR_KEYS), odd_text), max_size=12)


@fuzz
@given(items=posts, target=st.sampled_from(["text", "number", "date", "choice", "edit"]),
       from_valid=st.booleans())
@example(items=[("options-0-key", "nope")], target="edit", from_valid=True)
@example(items=[("label-fr", "x" * 100_000)], target="text", from_valid=True)
@example(items=[("min_value", "1e9999")], target="number", from_valid=True)
@example(items=[("condition", "1:veg"), ("options-1-remove", "y")], target="edit",
         from_valid=True)
def test_any_junk_to_the_editor_is_refused_cleanly(admin, items, target, from_valid):
    with tenants_api.tenant_context("acme") as db:
        existing = db.scalar(select(CustomField.id).where(CustomField.type == "choice"))
    if existing is None:
        existing = choice_field()
        answer(existing, "veg", email="fuzz@acme.test")
    url = (f"{FORM}/fields/{existing}/edit" if target == "edit"
           else f"{FORM}/fields/new?type={target}")
    # Junk alone, or junk over a valid post (to reach the services' own checks).
    data = MultiDict(texts() if from_valid else {})
    if from_valid and target in ("edit", "choice"):
        data.update(options(("veg" if target == "edit" else "", "Végétarien", "Vegetarian")))
    junk = MultiDict(items)
    for key in junk:
        data.setlist(key, junk.getlist(key))
    before = snapshot()
    response = admin.post(url, data=data)
    if any("\x00" in key + value for key, value in data.items(multi=True)):
        assert response.status_code == 400
    else:
        assert response.status_code in (200, 303, 422), response.status_code
    if response.status_code != 303:
        assert snapshot() == before
    if target != "edit":
        created = [f for f in all_fields() if f.id != existing]
        assert len(created) == (1 if response.status_code == 303 else 0)
        with tenants_api.tenant_context("acme") as db:
            for field in created:
                assert field.type == target
                db.delete(db.get(CustomField, field.id))
    else:  # saved or not, the type stands and the answered option is still there
        field = one(existing)
        assert field.type == "choice" and "veg" in {o["key"] for o in field.options}
