"""The registration form built from the tenant's design: types, required fields, conditions,
refusals that write nothing, escaping, stored values and how they read back."""

from __future__ import annotations

from types import SimpleNamespace

from flask_babel import force_locale
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tenants import api as tenants_api
from tenants import pagecache
from tenants.fields import answers, checks
from tenants.fields.models import Answer, CustomField
from tests import factories
from tests.fixtures.people import english
from tests.tenants.account_helpers import (
    answer_count,
    count,
    modes,
    participant,
    person,
    signup_data,
    stored_answers,
)

CHOICES = [{"key": "news", "label": {"fr": "Lettre", "en": "Newsletter"}},
           {"key": "other", "label": {"fr": "Autre", "en": "Other"}}]


def choice_with_condition(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A required choice, and a required text asked only when the choice is "other"."""
    with app.app_context():
        heard = factories.custom_field("acme", "choice", position=1, required=True,
                                       label={"fr": "Source", "en": "How did you hear?"},
                                       options=CHOICES)
        detail = factories.custom_field("acme", "text", position=2, required=True,
                                        label={"fr": "Précisez", "en": "Please specify"},
                                        condition_field_id=heard, condition_value="other")
    return heard, detail


def post(client, email="zoe@example.org", **extra):  # type: ignore[no-untyped-def]
    return client.post("/t/acme/signup", data=signup_data(email, **extra))


def errors(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


# --- required fields and refusals that write nothing -------------------------------------------


def test_required_standard_and_custom_fields_are_marked_and_enforced(app, client):
    english(client)
    modes("acme", city="required", job_function="optional")
    with app.app_context():
        factories.custom_field("acme", "text", required=True)
        factories.custom_field("acme", "checkbox", position=2, required=True,
                               label={"fr": "J'accepte", "en": "I agree to the rules"})
    page = client.get("/t/acme/signup").get_data(as_text=True)
    # e-mail, 3 names/city, 2 questions; the password is optional (issue 19: sign-up without one)
    assert page.count("(required)") == 6
    assert 'name="job_function"' in page and 'name="mobile_phone"' not in page

    refused = post(client, first_name="", city="  ")
    assert refused.status_code == 422
    html = errors(refused)
    assert html.count("This field is required.") == 3  # first name, city, company
    assert "Tick this box to continue." in html
    assert count("acme") == 0 and answer_count("acme") == 0


def test_a_hidden_conditional_answer_posted_anyway_is_refused(app, client):
    english(client)
    heard, detail = choice_with_condition(app)
    refused = post(client, **{f"custom_{heard}": "news", f"custom_{detail}": "a friend"})
    assert refused.status_code == 422
    assert "This question does not apply to your previous answers." in errors(refused)
    assert count("acme") == 0 and answer_count("acme") == 0

    # When the condition holds, the field is asked, and required.
    missing = post(client, **{f"custom_{heard}": "other"})
    assert missing.status_code == 422 and "This field is required." in errors(missing)
    assert post(client, **{f"custom_{heard}": "other",
                           f"custom_{detail}": " a friend "}).status_code == 303
    zoe = person("acme", "zoe@example.org")
    assert stored_answers("acme", zoe.id) == {heard: "other", detail: "a friend"}

    # When it does not, the field is neither required nor stored.
    assert post(client, "ann@example.org", **{f"custom_{heard}": "news"}).status_code == 303
    ann = person("acme", "ann@example.org")
    assert stored_answers("acme", ann.id) == {heard: "news"}


def test_conditions_are_told_in_words_without_javascript(app, client):
    english(client)
    _heard, detail = choice_with_condition(app)
    page = client.get("/t/acme/signup").get_data(as_text=True)
    assert "Answer only if you chose “Other” for “How did you hear?”." in page
    # The browser cannot know whether the condition holds: no "required" attribute.
    start = page.index(f'<input aria-describedby="custom_{detail}-condition')
    assert " required " not in page[start:page.index(">", start)]


def test_htmx_refresh_shows_only_applicable_fields_and_writes_nothing(app, client):
    english(client)
    heard, detail = choice_with_condition(app)
    page = client.get("/t/acme/signup").get_data(as_text=True)
    assert 'hx-trigger="change target:.answer-controls"' in page
    assert page.count('class="answer-controls"') == 2  # the two radio buttons of the choice
    fields_block = page[page.index('id="answer-fields"'):]
    assert 'name="password"' not in fields_block[:fields_block.index("</fieldset>")]

    def refresh(choice: str) -> str:
        response = client.post("/t/acme/signup", headers={"HX-Request": "true"}, data={
            **signup_data("zoe@example.org"), "preview": "1", f"custom_{heard}": choice})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    news = refresh("news")
    assert news.lstrip().startswith('<div id="answer-fields"')
    assert f'name="custom_{heard}"' in news and f'name="custom_{detail}"' not in news
    assert 'name="password"' not in news and "<html" not in news
    other = refresh("other")
    assert f'name="custom_{detail}"' in other
    assert "Answer only if" not in other  # shown because it applies
    assert count("acme") == 0


def test_choices_must_be_active_options(app, client):
    english(client)
    with app.app_context():
        single = factories.custom_field("acme", "choice", options=[
            *CHOICES, {"key": "gone", "label": {"fr": "Vieux", "en": "Old"}, "archived": True}])
        several = factories.custom_field("acme", "multichoice", position=2, options=CHOICES)
        country = factories.custom_field("acme", "country", position=3)
    for bad in ({f"custom_{single}": "gone"}, {f"custom_{single}": "nope"},
                {f"custom_{several}": ["news", "nope"]}, {f"custom_{country}": "EU"},
                {f"custom_{country}": "Narnia"}):
        refused = post(client, **bad)
        assert refused.status_code == 422, bad
        assert "Choose one of the options offered." in errors(refused)
    assert count("acme") == 0
    page = client.get("/t/acme/signup").get_data(as_text=True)
    assert 'value="gone"' not in page and ">Old<" not in page


def test_each_type_is_checked_and_stored_in_its_json_form(app, client):
    english(client)
    with app.app_context():
        ids = {kind: factories.custom_field("acme", kind, position=i, **extra)
               for i, (kind, extra) in enumerate([
                   ("text", {}), ("textarea", {}),
                   ("number", {"min_value": "0", "max_value": "10.5"}),
                   ("date", {"min_value": "2020-01-01", "max_value": "2030-12-31"}),
                   ("choice", {"options": CHOICES}), ("multichoice", {"options": CHOICES}),
                   ("checkbox", {}), ("email", {}), ("phone", {}), ("url", {}),
                   ("country", {})], start=1)}
    bad = {"number": ["11", "abc", "NaN", "1e5", "Infinity"],
           "date": ["2019-12-31", "2031-01-01", "31/01/2025", "2025-02-30"],
           "email": ["not-an-address", "zoé@exämple.org"], "phone": ["12", "+33 1 23 x"],
           "url": ["javascript:alert(1)", "ftp://example.org", "https://", "http://a b.org"],
           "text": ["x" * 501, "line\nbreak"], "textarea": ["y" * 5001]}
    for kind, values in bad.items():
        for value in values:
            response = post(client, **{f"custom_{ids[kind]}": value})
            assert response.status_code == 422, (kind, value)
            assert f'id="custom_{ids[kind]}-error"' in errors(response), (kind, value)
    assert count("acme") == 0

    good = {"text": "Acme", "textarea": "two\nlines", "number": "3,50", "date": "2025-01-31",
            "choice": "other", "multichoice": ["other", "news"], "checkbox": "y",
            "email": "Work@Example.ORG", "phone": "+33 (0)1 23-45.67", "url": "https://acme.example/",
            "country": "FR"}
    assert post(client, **{f"custom_{ids[k]}": v for k, v in good.items()}).status_code == 303
    stored = stored_answers("acme", person("acme", "zoe@example.org").id)
    assert stored == {
        ids["text"]: "Acme", ids["textarea"]: "two\nlines", ids["number"]: "3.50",
        ids["date"]: "2025-01-31", ids["choice"]: "other", ids["multichoice"]: ["news", "other"],
        ids["checkbox"]: True, ids["email"]: "Work@example.org",
        ids["phone"]: "+33 (0)1 23-45.67", ids["url"]: "https://acme.example/",
        ids["country"]: "FR"}


def test_free_text_fields_warn_against_sensitive_data(app, client):
    english(client)
    with app.app_context():
        text = factories.custom_field("acme", "textarea", help={"en": "A few words."})
        factories.custom_field("acme", "number", position=2)
    page = client.get("/t/acme/signup").get_data(as_text=True)
    warning = "Do not enter health, religious, political or other sensitive information here."
    assert page.count(warning) == 1
    assert (f'aria-describedby="custom_{text}-help custom_{text}-warning"') in page


def test_hostile_labels_and_options_are_escaped(app, client):
    hostile = '<script>alert("x")</script>'
    with app.app_context():
        factories.custom_field("acme", "choice", label={"fr": hostile, "en": hostile},
                               help={"fr": hostile}, options=[
                                   {"key": "k", "label": {"fr": hostile, "en": hostile}}])
    page = client.get("/t/acme/signup").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_the_sign_up_page_costs_the_same_statements_for_2_or_10_fields(app, client,
                                                                        statements):
    with app.app_context():
        event = factories.event("acme")
        first = factories.custom_field("acme", "choice", options=CHOICES)
        factories.custom_field("acme", "text", position=2, condition_field_id=first,
                               condition_value="other")

    def measure() -> int:
        client.get(f"/t/acme/events/{event}/signup")  # the tenant registry is cached
        with app.app_context():
            pagecache.clear()  # the page itself is rendered, not copied
        with statements:
            assert client.get(f"/t/acme/events/{event}/signup").status_code == 200
        return statements.count

    two = measure()
    with app.app_context():
        for i in range(8):
            factories.custom_field("acme", ("text", "multichoice", "date", "country")[i % 4],
                                   position=3 + i, options=CHOICES)
    assert measure() == two


# --- hostile input -----------------------------------------------------------------------------

junk = st.one_of(st.text(), st.text(alphabet=st.characters(codec="utf-8"), min_size=1),
                 st.sampled_from(["\u202e", "' OR 1=1 --", "%00", "\ufeff", "\r\n", "NaN"]),
                 st.text(min_size=1, max_size=20).map(lambda t: (t * 10_000)[:100_000]))


QUESTIONS = ("q1", "q2", "q3", "q4")  # stand for the custom fields' inputs


def junk_form_fields() -> dict[str, int]:
    """The form's custom fields (created by the first example), by stand-in name."""
    with tenants_api.tenant_context("acme") as session:
        ids = list(session.scalars(select(CustomField.id).order_by(CustomField.position)))
    if not ids:
        ids = [factories.custom_field("acme", kind, position=i, options=CHOICES)
               for i, kind in enumerate(("multichoice", "text", "number", "date"), start=1)]
    return dict(zip(QUESTIONS, ids, strict=True))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(
    st.sampled_from(["email", "password", "password_confirm", "first_name", "last_name",
                     "preview", *QUESTIONS]),
    st.one_of(junk, st.lists(junk, max_size=3))))
@example(values={"email": "a@example.org", "q1": ["x"] * 3, "q3": "9" * 40})
@example(values={"preview": "1", "q1": "other", "q2": "\u202e"})
def test_junk_on_the_sign_up_form_never_fails_and_creates_nothing(app, client, values):
    with app.app_context():
        names = junk_form_fields()
    data = {f"custom_{names[k]}" if k in names else k: v for k, v in values.items()}
    response = client.post("/t/acme/signup", data=data)
    has_nul = any("\x00" in v for value in values.values()
                  for v in (value if isinstance(value, list) else [value]))
    if has_nul:
        assert response.status_code == 400
    else:
        assert response.status_code == (200 if values.get("preview") == "1" else 422)
    assert response.mimetype == "text/html"
    assert count("acme") == 0 and answer_count("acme") == 0


# --- reading answers back ----------------------------------------------------------------------


def test_display_value_reads_answers_for_people(ctx):
    def field(kind: str, **extra: object) -> CustomField:
        return CustomField(type=kind, label={"fr": "Q"}, options=extra.get("options", []))

    options = [{"key": "a", "label": {"fr": "Alpha", "en": "Alpha"}},
               {"key": "b", "label": {"fr": "Bêta", "en": "Beta"}, "archived": True}]
    with force_locale("en"):
        assert answers.display_value(field("choice", options=options), "b", "en") == (
            "Beta (removed option)")
        assert answers.display_value(field("multichoice", options=options), ["a", "b"],
                                     "en") == "Alpha, Beta (removed option)"
        assert answers.display_value(field("checkbox"), True, "en") == "Yes"
        assert answers.display_value(field("checkbox"), False, "en") == "No"
        assert answers.display_value(field("date"), "2025-01-31", "en") == "January 31, 2025"
        assert answers.display_value(field("number"), "1234.50", "en") == "1,234.5"
        assert answers.display_value(field("country"), "DE", "en") == "Germany"
    assert answers.display_value(field("date"), "2025-01-31", "fr") == "31 janvier 2025"
    assert answers.display_value(field("number"), "1234.5", "fr") == "1\u202f234,5"
    assert answers.display_value(field("country"), "DE", "fr") == "Allemagne"
    assert answers.display_value(field("text"), "<b>", "fr") == "<b>"  # escaped by templates


def test_answers_for_reads_many_participants_in_one_query(app, statements):
    with app.app_context():
        field = factories.custom_field("acme", "text")
        people = [participant("acme", f"p{i}@example.org") for i in range(5)]
        with tenants_api.tenant_context("acme") as session:
            session.add_all([Answer(participant_id=p, field_id=field, value=f"v{p}")
                             for p in people[:3]])
        with tenants_api.tenant_context("acme") as session, statements:
            found = answers.answers_for(session, people)
    assert statements.count == 1
    assert found == {p: {field: f"v{p}"} for p in people[:3]}


def test_countries_are_iso_codes_sorted_by_name_in_each_language():
    french = checks.countries("fr")
    codes = [code for code, _name in french]
    assert all(len(code) == 2 and code.isalpha() for code in codes)
    assert "EU" not in codes and "ZZ" not in codes and "FR" in codes
    names = [name for _code, name in french]
    assert names.index("Égypte") < names.index("Espagne")  # accents do not push to the end
    assert set(codes) == {code for code, _name in checks.countries("en")}


def test_bounds_are_told_in_the_readers_language(app, client):
    english(client)
    with app.app_context():
        number = factories.custom_field("acme", "number", min_value="1", max_value="1000.5")
    response = post(client, **{f"custom_{number}": "2000"})
    assert "Enter a value from 1 to 1,000.5." in errors(response)


def test_the_country_list_is_in_the_reader_language_and_keeps_the_choice(app) -> None:
    from tenants.fields import checks

    with app.test_request_context():
        widget = checks.CountrySelect("fr")
        field = SimpleNamespace(id="f1", name="f1", data="DE")
        html = widget(field, required=True)
    assert html.startswith('<select id="f1" name="f1" required>')
    assert '<option selected value="DE">Allemagne</option>' in html
    assert html.count("selected") == 1
    assert '<option value="ES">Espagne</option>' in html
