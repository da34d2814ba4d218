"""The tenant settings page: languages of the tenant's texts and the widest visibility."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tenants import api as tenants_api
from tenants.audit import services as audit
from tenants.audit.models import AccessLog
from tenants.instructions.models import Instruction
from tenants.participants.models import Participant
from tenants.settings import services
from tests import factories
from tests.fixtures.people import sign_in_member

URL = "/t/acme/admin/settings"


def chosen(html: str, name: str) -> str:
    """The selected option of the ``<select name=name>`` in ``html``."""
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)
    return re.search(r'<option(?=[^>]*selected)[^>]*value="([^"]*)"', select_html).group(1)


def shown(at: datetime, zone: str) -> str:
    """How an English page shows ``at`` in ``zone``: "Dec 6, 2026, 8:33 AM (Europe/Paris)",
    a narrow space before AM."""
    local = at.astimezone(ZoneInfo(zone))
    return (f"{local:%b} {local.day}, {local.year}, {local.hour % 12 or 12}:{local:%M}\u202f"
            f"{local:%p} ({zone.replace('_', ' ')})")


def current(slug: str = "acme") -> tuple[list[str], str]:
    with tenants_api.tenant_context(slug) as db:
        found = services.get(db)
        return list(found.languages), found.max_visibility


def visibilities() -> dict[str, str]:
    with tenants_api.tenant_context("acme") as db:
        return dict(db.execute(select(Participant.email, Participant.visibility)).all())


def test_admin_changes_languages_and_visibility(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    html = client.get(URL).get_data(as_text=True)
    assert 'value="participants"' in html and "Français" in html and "English" in html
    saved = client.post(URL, data=MultiDict([("default_language", "en"), ("languages", "fr"),
                                             ("languages", "en"), ("max_visibility", "public")]))
    assert saved.status_code == 303 and saved.headers["Location"].endswith("?saved=1")
    assert current() == (["en", "fr"], "public")
    assert "The settings are saved." in client.get(saved.headers["Location"]).get_data(
        as_text=True)
    assert current("globex") == (["fr", "en"], "participants")

    fragment = client.post(URL, data={"default_language": "fr", "languages": "fr",
                                      "max_visibility": "public"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert current() == (["fr"], "public")


def test_the_field_editor_follows_the_languages(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    client.post(URL, data={"default_language": "en", "languages": "en",
                           "max_visibility": "participants"})
    html = client.get("/t/acme/admin/form/fields/new?type=text").get_data(as_text=True)
    assert 'name="label-en"' in html and 'name="label-fr"' not in html
    assert client.post("/t/acme/admin/form/fields/new?type=text",
                       data={"label-en": "Company", "purpose-en": "Groups"}).status_code == 303


def test_refused_settings_change_nothing(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    before = current()
    for data, message in (
            ({"default_language": "en", "languages": "fr", "max_visibility": "public"},
             "Tick the default language too."),
            ({"default_language": "fr", "max_visibility": "public"},
             "Tick the default language too."),
            ({"default_language": "de", "languages": "fr", "max_visibility": "public"},
             "Not a valid choice"),
            ({"default_language": "fr", "languages": ["fr", "xx"], "max_visibility": "public"},
             "not a valid choice"),
            ({"default_language": "fr", "languages": "fr", "max_visibility": "everyone"},
             "Not a valid choice")):
        refused = client.post(URL, data=data)
        assert refused.status_code == 422, data
        assert message in refused.get_data(as_text=True), data
    assert current() == before


def test_lowering_the_widest_visibility_lowers_participants_in_one_statement(
        app, client, statements):
    for email, visibility in (("ann@acme.test", "public"), ("bob@acme.test", "participants"),
                              ("cid@acme.test", "nobody")):
        person = factories.participant("acme", email)
        with tenants_api.tenant_context("acme") as db:
            db.get(Participant, person).visibility = visibility
    other = factories.participant("globex", "ann@acme.test")
    with tenants_api.tenant_context("globex") as db:
        db.get(Participant, other).visibility = "public"
        services.update(db, languages=["fr"], max_visibility="public")
    with tenants_api.tenant_context("acme") as db:
        services.update(db, languages=["fr", "en"], max_visibility="public")

    sign_in_member(client, "acme", "admin", in_english=True)
    with statements:
        client.post(URL, data={"default_language": "fr", "languages": "fr",
                               "max_visibility": "participants"})
    updates = [s for s in statements.statements
               if s.lstrip().upper().startswith("UPDATE") and "participants" in s]
    assert len(updates) == 1
    assert visibilities() == {"ann@acme.test": "participants", "bob@acme.test": "participants",
                              "cid@acme.test": "nobody"}
    client.post(URL, data={"default_language": "fr", "languages": "fr",
                           "max_visibility": "nobody"})
    assert set(visibilities().values()) == {"nobody"}
    with tenants_api.tenant_context("globex") as db:  # another tenant's people are untouched
        assert db.get(Participant, other).visibility == "public"
    # Raising it again leaves everyone's choice as it is.
    client.post(URL, data={"default_language": "fr", "languages": "fr",
                           "max_visibility": "public"})
    assert set(visibilities().values()) == {"nobody"}


def test_viewers_read_and_cannot_change(app, client):
    sign_in_member(client, "acme", "viewer", in_english=True)
    html = client.get(URL).get_data(as_text=True)
    assert "<fieldset disabled>" in html and "Save the settings" not in html
    assert client.post(URL, data={"default_language": "en", "languages": "en",
                                  "max_visibility": "public"}).status_code == 403
    assert current() == (["fr", "en"], "participants")


def test_visitors_are_sent_to_the_login(client):
    assert client.get(URL).status_code == 302
    assert client.post(URL, data={"default_language": "en", "languages": "en",
                                  "max_visibility": "public"}).status_code == 401


fuzz = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
junk = st.one_of(st.text(max_size=30), st.sampled_from(["fr", "en", "nobody", "public", "de",
                                                        "participants", "x" * 100_000]))


@fuzz
@given(items=st.lists(st.tuples(st.sampled_from(["default_language", "languages",
                                                 "max_visibility", "other"]), junk),
                      max_size=8))
@example(items=[("default_language", "en"), ("languages", "en"), ("languages", "en"),
                ("max_visibility", "nobody")])
def test_any_junk_to_the_settings_is_refused_cleanly(admin, items):
    before = current()
    response = admin.post(URL, data=MultiDict(items))
    if any("\x00" in value for _key, value in items):
        assert response.status_code == 400
    else:
        assert response.status_code in (303, 422)
    if response.status_code != 303:
        assert current() == before
    languages, _visibility = current()
    assert languages and set(languages) <= {"fr", "en"} and len(set(languages)) == len(languages)


def test_the_time_zone_is_a_setting_shown_with_every_time(app, client):
    """Issue 19, item 3: times on the tenant's pages are in its zone, named; a new event starts
    in it; a refused zone changes nothing; the change is logged."""
    sign_in_member(client, "acme", "admin", in_english=True)
    assert chosen(client.get(URL).get_data(as_text=True), "timezone") == "Europe/Paris"
    with tenants_api.tenant_context("acme") as db:
        audit.record(db, member_id=None, action="export", target="participants")
        db.flush()
        at = db.scalars(select(AccessLog).order_by(AccessLog.id.desc())).first().at
    paris = client.get("/t/acme/admin/access-log").get_data(as_text=True)
    assert shown(at, "Europe/Paris") in paris

    refused = client.post(URL, data={"default_language": "fr", "languages": "fr",
                                      "max_visibility": "public", "timezone": "Mars/Olympus"})
    assert refused.status_code == 422 and "Not a valid choice" in refused.get_data(as_text=True)
    with tenants_api.tenant_context("acme") as db:
        assert services.time_zone(db) == "Europe/Paris"

    saved = client.post(URL, data={"default_language": "fr", "languages": ["fr", "en"],
                                    "max_visibility": "participants",
                                    "timezone": "America/New_York"})
    assert saved.status_code == 303
    with tenants_api.tenant_context("acme") as db:
        assert services.time_zone(db) == "America/New_York"
        logged = db.scalars(select(Instruction).where(Instruction.area == "timezone")).one()
        assert "America/New York" in logged.summary
    new_york = client.get("/t/acme/admin/access-log").get_data(as_text=True)
    assert shown(at, "America/New_York") in new_york
    assert chosen(client.get("/t/acme/admin/events/new").get_data(as_text=True),
                  "timezone") == "America/New_York"
    # Another tenant keeps its own zone; a form without the zone keeps the stored one.
    assert current("globex") == (["fr", "en"], "participants")
    with tenants_api.tenant_context("globex") as db:
        assert services.time_zone(db) == "Europe/Paris"
    client.post(URL, data={"default_language": "fr", "languages": "fr",
                           "max_visibility": "participants"})
    with tenants_api.tenant_context("acme") as db:
        assert services.time_zone(db) == "America/New_York"
