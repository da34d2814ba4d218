"""Cookie consent: what pages carry before and after a choice, the ledger, lifetimes,
versions, bad input, the admins' configuration and export, and registration consents."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from tenants import api as tenants_api
from tenants.consent import banner as consent_banner
from tenants.consent import cache as consent_cache
from tenants.consent import ledger as consent_ledger
from tenants.consent import visitor as consent_visitor
from tenants.consent.models import ConsentEntry
from tenants.consent.views import rate_limit
from tests import factories
from tests.fixtures.people import sign_in_member

HOME = "/t/acme/"
CHOICE = "/t/acme/cookies"
SCRIPT = "https://stats.example.org/matomo.js"
EMBED = "https://video.example.net/embed/42"


def add_service(slug: str = "acme", **fields: object) -> int:
    values = {"name": "Matomo", "provider": "InnoCraft", "purpose": "audience",
              "cookies": [{"name": "_pk_id", "duration": 13, "unit": "months"}],
              "location": "France",
              "load_kind": "script", "load_url": SCRIPT, **fields}
    with tenants_api.tenant_context(slug) as db:
        return consent_banner.save_service(db, None, **values).id  # type: ignore[arg-type]


def two_services() -> tuple[int, int]:
    return add_service(), add_service(
        name="VideoHost", provider="Video Inc.", purpose="embedded", location="United States",
        cookies=[{"name": "vh_session", "duration": 6, "unit": "months"}], load_kind="embed",
        load_url=EMBED)


def version(slug: str = "acme") -> int:
    with tenants_api.tenant_context(slug) as db:
        return consent_banner.get_row(db).version


def entries(slug: str = "acme") -> list[ConsentEntry]:
    with tenants_api.tenant_context(slug) as db:
        return list(db.scalars(select(ConsentEntry).order_by(ConsentEntry.id)))


def choose(client, decision: str, slug: str = "acme", **extra):  # type: ignore[no-untyped-def]
    data = MultiDict({"decision": decision, "version": str(version(slug)),
                      "next": f"/t/{slug}/"})
    for key, value in extra.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(key, str(item))
    return client.post(f"/t/{slug}/cookies", data=data)


def consent_cookie(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    header = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith(consent_visitor.COOKIE + "="))
    value, *attributes = header.split("; ")
    return {"value": value.split("=", 1)[1],
            **{a.split("=", 1)[0].lower(): ([*a.split("=", 1), ""])[1] for a in attributes}}


@pytest.fixture(autouse=True)
def _fresh_limits():  # type: ignore[no-untyped-def]
    rate_limit.hits.clear()
    yield
    consent_cache.configs.forget()
    consent_cache.caches.forget_entries()


# --- enforcement ---------------------------------------------------------------------------------


def test_nothing_non_essential_before_consent(app, client):
    two_services()
    response = client.get(HOME)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script src=\"https://" not in html and "<iframe" not in html
    assert "stats.example.org" not in response.headers["Content-Security-Policy"]
    assert "frame-src 'none'" in response.headers["Content-Security-Policy"]
    assert not any(h.startswith(("_pk_id", "vh_session"))
                   for h in response.headers.getlist("Set-Cookie"))
    banner = html[html.index('id="consent-banner"'):]
    # Purposes come before the buttons, and the three answers have the same look.
    assert banner.index("Matomo") < banner.index('value="accept"')
    answers = re.findall(r'class="button consent-answer"', banner[:banner.index("</section>")])
    assert len(answers) == 3
    # The embed shows a placeholder with a consent button instead of the frame.
    assert 'value="add"' in html and 'name="services" value="' in html
    assert entries() == []


def test_accept_all_loads_the_script_with_a_csp_that_allows_it(app, client):
    two_services()
    response = choose(client, "accept")
    assert response.status_code == 303 and response.headers["Location"] == HOME
    cookie = consent_cookie(response)
    assert consent_ledger.CONSENT_ID.fullmatch(cookie["value"])
    assert "httponly" in cookie and cookie["samesite"] == "Lax" and cookie["path"] == HOME
    assert "secure" not in cookie  # served over http here
    page = client.get(HOME)
    html = page.get_data(as_text=True)
    assert f'<script src="{SCRIPT}" defer></script>' in html
    assert f'<iframe src="{EMBED}"' in html and 'id="consent-banner"' not in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self' https://stats.example.org;" in csp
    assert "frame-src https://video.example.net;" in csp
    # Other tenants' pages are not concerned by this visitor's choice.
    assert "stats.example.org" not in client.get("/t/globex/").get_data(as_text=True)


def test_the_ledger_holds_no_personal_data(app, client):
    matomo, video = two_services()
    choose(client, "choose", services=[video])
    [entry] = entries()
    assert entry.kind == "cookies" and entry.choices == {str(matomo): False, str(video): True}
    assert entry.participant_id is None and entry.chain_id == entry.consent_id
    assert entry.version == version() and len(entry.texts_hash) == 64
    columns = set(ConsentEntry.__table__.columns.keys())
    assert columns == {"id", "consent_id", "chain_id", "kind", "choices", "version",
                       "texts_hash", "participant_id", "created_at", "expires_at",
                       "replaced_at"}
    stored = " ".join(str(getattr(entry, name)) for name in columns)
    assert "127.0.0.1" not in stored and "werkzeug" not in stored.lower()


def test_refusal_is_remembered_and_withdrawal_deletes_cookies(app, client):
    matomo, _video = two_services()
    choose(client, "accept")
    refused = choose(client, "refuse")
    deleted = [h for h in refused.headers.getlist("Set-Cookie") if h.startswith("_pk_id=;")]
    assert {re.search(r"Path=([^;]*)", h).group(1) for h in deleted} == {"/", "/t/acme",
                                                                         HOME}
    assert all("Expires=Thu, 01 Jan 1970" in h for h in deleted)
    assert any(h.startswith("vh_session=;") for h in refused.headers.getlist("Set-Cookie"))
    html = client.get(HOME).get_data(as_text=True)
    assert SCRIPT not in html and 'id="consent-banner"' not in html  # not asked again
    first, second = entries()
    assert second.choices == {str(matomo): False, str(_video): False}
    assert second.chain_id == first.consent_id and first.replaced_at is not None
    # 6 calendar months exactly (pinned to the day from fixed dates: test_product_numbers.py)
    assert second.expires_at == consent_ledger.add_months(second.created_at, 6)


def test_per_service_and_per_purpose_choices(app, client):
    matomo, video = two_services()
    choose(client, "choose", services=[matomo])
    assert entries()[-1].choices == {str(matomo): True, str(video): False}
    choose(client, "choose", purposes=["embedded"])
    assert entries()[-1].choices == {str(matomo): False, str(video): True}
    html = client.get(HOME).get_data(as_text=True)
    assert EMBED in html and SCRIPT not in html


def test_load_this_content_keeps_the_other_choices(app, client):
    matomo, video = two_services()
    choose(client, "choose", services=[matomo])
    choose(client, "add", services=[video])
    assert entries()[-1].choices == {str(matomo): True, str(video): True}


def test_strictly_necessary_services_need_no_consent(app, client):
    add_service(name="Chat", purpose="necessary", cookies=[], load_url="https://chat.example.org/c.js")
    html = client.get(HOME).get_data(as_text=True)
    assert "https://chat.example.org/c.js" in html and 'id="consent-banner"' not in html


def test_no_services_no_banner_and_no_query_beyond_the_config(app, client, statements):
    client.get(HOME)  # warm the caches
    with statements:
        html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' not in html and 'href="/t/acme/cookies"' in html
    assert not any("consent" in s for s in statements.statements)


@pytest.mark.spans_connections  # another process commits
def test_a_service_added_by_another_worker_shows_on_the_next_page(app, client):
    """The configuration is kept per process until the tenant's data changes in any process
    of the instance folder (its generation, tenants/pagecache.py), not for a fixed time."""
    client.get(HOME)
    assert 'id="consent-banner"' not in client.get(HOME).get_data(as_text=True)  # kept
    factories.in_another_process(app, f"""
        from tenants.consent import banner
        with tenants_api.tenant_context("acme") as session:
            banner.save_service(session, None, name="Matomo", provider="InnoCraft",
                                purpose="audience", location="France", load_kind="script",
                                load_url={SCRIPT!r},
                                cookies=[{{"name": "_pk_id", "duration": 13, "unit": "months"}}])
    """)
    html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' in html and "Matomo" in html


@pytest.mark.spans_connections  # another process commits
def test_other_writes_by_another_worker_keep_the_configuration(app, client, statements):
    add_service()
    client.get(HOME)
    client.get(HOME)
    factories.in_another_process(app, """
        tenants_api.add_participant("acme", email="other.worker@example.org",
                                    first_name="Other", last_name="Worker")
    """)
    with statements:
        assert 'id="consent-banner"' in client.get(HOME).get_data(as_text=True)
    assert not any("consent_config" in sql or "consent_services" in sql
                   for sql in statements.statements)


# --- lifetimes and versions ----------------------------------------------------------------------


def test_consent_lifetime_is_the_tenants_at_most_13_months(app, client):
    add_service()
    choose(client, "accept")
    entry = entries()[-1]
    assert entry.expires_at == consent_ledger.add_months(entry.created_at, 13)
    with tenants_api.tenant_context("acme") as db:
        consent_banner.update_banner(db, texts={}, lifetime_months=4, retention_years=5,
                                     link_participant=False)
        with pytest.raises(ValueError):
            consent_banner.update_banner(db, texts={}, lifetime_months=14, retention_years=5,
                                         link_participant=False)
    choose(client, "accept")
    entry = entries()[-1]
    assert entry.expires_at == consent_ledger.add_months(entry.created_at, 4)


def test_an_expired_choice_asks_again(app, client):
    add_service()
    choose(client, "accept")
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(ConsentEntry).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    consent_cache.caches.forget_entries()  # as after a restart: the entry is read again
    html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' in html and SCRIPT not in html


def test_a_new_version_asks_again_and_a_stale_form_writes_nothing(app, client):
    add_service()
    before = version()
    choose(client, "accept")
    stale = {"decision": "accept", "version": str(before), "next": HOME}
    with tenants_api.tenant_context("acme") as db:
        consent_banner.update_banner(
            db, texts={"title": {"fr": "Vos choix", "en": "Your choices"},
                       "body": {"fr": "", "en": ""}},
            lifetime_months=13, retention_years=5, link_participant=False)
    assert version() == before + 1
    html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' in html and "Vos choix" in html and SCRIPT not in html
    response = client.post(CHOICE, data=stale)
    assert response.status_code == 422 and len(entries()) == 1
    assert consent_visitor.COOKIE not in str(response.headers.getlist("Set-Cookie"))
    # Saving the same texts again is no change: no new version.
    with tenants_api.tenant_context("acme") as db:
        row = consent_banner.get_row(db)
        consent_banner.update_banner(db, texts=dict(row.texts), lifetime_months=13,
                                     retention_years=5, link_participant=False)
    assert version() == before + 1
    choose(client, "accept")
    assert entries()[-1].version == before + 1 != entries()[0].version
    assert entries()[-1].texts_hash != entries()[0].texts_hash


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "Zm9yZ2VkLWJ1dC13ZWxsLWZvcm1lZC1p",  # well-formed, unknown
    "x" * 4000, "../../etc", "'; DROP TABLE consent_ledger; --", "é" * 32, ""])
def test_forged_cookies_are_no_consent(app, client, value):
    add_service()
    client.set_cookie(consent_visitor.COOKIE, value, path=HOME)
    html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' in html and SCRIPT not in html


def test_a_consent_id_of_another_tenant_is_no_consent(app, client):
    add_service("globex")
    add_service()
    response = choose(client, "accept", slug="globex")
    client.set_cookie(consent_visitor.COOKIE, consent_cookie(response)["value"], path=HOME)
    html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' in html and SCRIPT not in html
    assert entries() == [] and len(entries("globex")) == 1


def test_a_replaced_consent_id_is_no_consent(app, client):
    add_service()
    old = consent_cookie(choose(client, "accept"))["value"]
    choose(client, "refuse")
    client.set_cookie(consent_visitor.COOKIE, old, path=HOME)
    html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' in html and SCRIPT not in html


@pytest.mark.parametrize("data", [
    {"decision": "choose", "services": "999"},  # unknown service
    {"decision": "choose", "services": "abc"},
    {"decision": "choose", "purposes": "necessary"},  # not a purpose one consents to
    {"decision": "maybe"},
    {"decision": "accept", "version": "999"},  # tampered version
    {"decision": "accept", "version": "x"},
    {"decision": "accept", "version": ""},
])
def test_bad_choices_write_nothing(app, client, data):
    add_service()
    response = client.post(CHOICE, data={"version": str(version()), "next": HOME, **data})
    assert response.status_code == 422 and entries() == []
    assert consent_visitor.COOKIE not in str(response.headers.getlist("Set-Cookie"))


def test_next_never_leaves_the_tenant(app, client):
    add_service()
    for target in ("https://evil.example/", "//evil.example/", "/t/globex/", "/t/acme/\\x"):
        response = choose(client, "refuse", next=target)
        assert response.headers["Location"] == HOME


def test_consent_posts_are_rate_limited(app, client):
    add_service()
    codes = [choose(client, "refuse").status_code for _ in range(rate_limit.limit + 1)]
    assert codes[:-1] == [303] * rate_limit.limit and codes[-1] == 429
    assert len(entries()) == rate_limit.limit


def test_consent_posts_need_the_csrf_token(app, client, monkeypatch):
    add_service()
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # read on each request
    response = client.post(CHOICE, data={"decision": "accept", "version": str(version()),
                                          "next": HOME})
    assert response.status_code == 400 and entries() == []


odd = st.one_of(st.text(), st.text(min_size=1).map(lambda t: (t * 3000)[:6000]))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decision=odd, version_=odd, service=odd, purpose=odd, next_=odd)
def test_junk_choices_never_fail(app, client, decision, version_, service, purpose, next_):
    rate_limit.hits.clear()
    response = client.post(CHOICE, data={"decision": decision, "version": version_,
                                         "services": service, "purposes": purpose,
                                         "next": next_})
    assert response.status_code in (303, 400, 422)


# --- admins --------------------------------------------------------------------------------------


SERVICE_FORM = {"name": "Matomo", "provider": "InnoCraft", "purpose": "audience",
                "cookies": "_pk_id | 13 months\n_pk_ses | 30 minutes", "location": "France",
                "load_kind": "script", "load_url": SCRIPT}


def test_admin_adds_edits_and_removes_services_each_a_new_version(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    assert client.get("/t/acme/admin/consent").status_code == 200
    start = version()
    assert client.post("/t/acme/admin/consent/services/new",
                       data=SERVICE_FORM).status_code == 303
    with tenants_api.tenant_context("acme") as db:
        [row] = consent_banner.list_services(db)
        assert row.cookies == [{"name": "_pk_id", "duration": 13, "unit": "months"},
                               {"name": "_pk_ses", "duration": 30, "unit": "minutes"}]
        service_id = row.id
    first = version()
    edited = client.post(f"/t/acme/admin/consent/services/{service_id}/edit",
                         data={**SERVICE_FORM, "location": "European Union"})
    assert edited.status_code == 303 and version() == first + 1
    page = client.get(f"/t/acme/admin/consent/services/{service_id}/edit").get_data(
        as_text=True)
    assert "_pk_ses | 30 minutes" in page
    assert client.post(f"/t/acme/admin/consent/services/{service_id}/delete").status_code == 303
    assert version() == first + 2 and start <= first
    assert client.post("/t/acme/admin/consent/services/999/delete").status_code == 404


@pytest.mark.parametrize("changes", [
    {"load_url": "javascript:alert(1)"}, {"load_url": "http://stats.example.org/m.js"},
    {"load_url": "https://user:pw@stats.example.org/m.js"},
    {"load_url": "https://stats.example.org/m.js; script-src *"},
    {"load_url": "https://stats.example.org/a b.js"}, {"load_url": "https:///m.js"},
    {"load_url": ""}, {"load_kind": "none"}, {"purpose": "spying"},
    {"cookies": "no lifetime"}, {"cookies": "bad name; | 1 day"}, {"name": ""},
    {"name": "x" * 101},
])
def test_bad_services_are_refused(app, client, changes):
    sign_in_member(client, "acme", "admin", in_english=True)
    response = client.post("/t/acme/admin/consent/services/new",
                           data={**SERVICE_FORM, **changes})
    assert response.status_code == 422
    with tenants_api.tenant_context("acme") as db:
        assert consent_banner.list_services(db) == []


def test_tenant_texts_are_escaped(app, client):
    add_service(name="<script>alert(1)</script>", provider="<b>x</b>")
    html = client.get(HOME).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    policy = client.get("/t/acme/cookies/policy").get_data(as_text=True)
    assert "<b>x</b>" not in policy and "&lt;b&gt;x&lt;/b&gt;" in policy


def test_only_admins_configure_and_read_the_ledger(app, client):
    sign_in_member(client, "acme", "manager", in_english=True)
    for url in ("/t/acme/admin/consent", "/t/acme/admin/consent/ledger",
                "/t/acme/admin/consent/ledger.csv", "/t/acme/admin/consent/services/new"):
        assert client.get(url).status_code == 403


def test_admin_banner_form(app, client):
    add_service()
    sign_in_member(client, "acme", "admin", in_english=True)
    before = version()
    response = client.post("/t/acme/admin/consent", data={
        "title-fr": "Cookies ?", "title-en": "Cookies?", "body-fr": "", "body-en": "",
        "lifetime_months": "6", "retention_years": "5"})
    assert response.status_code == 303 and version() == before + 1
    assert client.post("/t/acme/admin/consent", data={
        "lifetime_months": "14", "retention_years": "5"}).status_code == 422
    assert client.post("/t/acme/admin/consent", data={
        "lifetime_months": "6", "retention_years": "9"}).status_code == 422
    assert version() == before + 1


def test_ledger_lookup_shows_every_step_and_export_is_formula_safe(app, client):
    add_service(name="=HYPERLINK(\"http://evil\")")
    visitor = app.test_client()
    first = consent_cookie(choose(visitor, "refuse"))["value"]
    last = consent_cookie(choose(visitor, "accept"))["value"]
    choose(app.test_client(), "accept")  # another visitor
    sign_in_member(client, "acme", "admin", in_english=True)
    page = client.get("/t/acme/admin/consent/ledger", query_string={"consent_id": last})
    html = page.get_data(as_text=True)
    assert first in html and last in html and html.count("<tr>") == 3  # header + 2 steps
    assert "No proof" in client.get("/t/acme/admin/consent/ledger",
                                    query_string={"consent_id": "nope"}).get_data(as_text=True)
    export = client.get("/t/acme/admin/consent/ledger.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 4
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert rows[-1][-1].startswith("'=HYPERLINK")


# --- participants and registration ---------------------------------------------------------------


def test_choices_are_tied_to_a_participant_only_when_the_notice_says_so(app, client):
    add_service()
    person = factories.confirmed_participant("acme", "ada@acme.test")
    factories.participant_login(client, "acme", "ada@acme.test")
    choose(client, "accept")
    assert entries()[-1].participant_id is None
    with tenants_api.tenant_context("acme") as db:
        consent_banner.update_banner(db, texts={}, lifetime_months=13, retention_years=5,
                                     link_participant=True)
    choose(client, "accept")
    assert entries()[-1].participant_id == person


def test_registration_consents_share_the_ledger_and_history_is_one_query(app, client,
                                                                       statements):
    add_service()
    person = factories.confirmed_participant("acme", "ada@acme.test")
    with tenants_api.tenant_context("acme") as db:
        consent_banner.update_banner(db, texts={}, lifetime_months=13, retention_years=5,
                                     link_participant=True)
        from tenants.participants.models import Participant

        participant = db.get(Participant, person)
        entry = consent_ledger.record_registration(db, participant, privacy_version="2026-11",
                                                   terms_version="3", marketing_opt_in=False)
        assert entry.choices == {"privacy": "2026-11", "terms": "3", "marketing": False}
        assert entry.expires_at is None
    factories.participant_login(client, "acme", "ada@acme.test")
    choose(client, "refuse")
    with tenants_api.tenant_context("acme") as db:
        db.execute(select(1))
        with statements:
            found = consent_ledger.history(db, person)
        assert statements.count == 1
        assert [e.kind for e in found] == ["registration", "cookies"]


# --- pages in both languages; the page cache ------------------------------------------------------


def test_policy_and_settings_pages_in_both_languages(app, client):
    two_services()
    french = client.get("/t/acme/cookies/policy").get_data(as_text=True)
    # Lifetimes are a number and a unit, worded in the reader's language.
    assert "Matomo" in french and "_pk_id (13 mois)" in french and 'lang="fr"' in french
    assert "vh_session (6 mois)" in french
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get("/t/acme/cookies/policy").get_data(as_text=True)
    assert 'lang="en"' in english and "Audience measurement" in english
    assert "_pk_id (13 months)" in english
    settings_page = client.get("/t/acme/cookies").get_data(as_text=True)
    assert 'name="services"' in settings_page and "Save my choices" in settings_page
    assert "_pk_id (13 months)" in settings_page
    fragment = client.get("/t/acme/cookies", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)


def test_cached_pages_follow_each_visitors_choice(app, client):
    add_service()
    other = app.test_client()
    assert SCRIPT not in other.get(HOME).get_data(as_text=True)  # cached without consent
    choose(client, "accept")
    assert SCRIPT in client.get(HOME).get_data(as_text=True)
    assert SCRIPT not in other.get(HOME).get_data(as_text=True)
    assert "stats.example.org" not in other.get(HOME).headers["Content-Security-Policy"]


def test_done_means_journey_through_the_pages(app, client):
    """Issue 5 "Done means": an admin adds two services and changes a banner text (the version
    bumps, visitors are asked again); a visitor refuses, comes back (not asked again), opens
    the cookie settings and accepts one service; the ledger shows each step, and nothing
    personal."""
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    visitor = client
    for form in (SERVICE_FORM, {**SERVICE_FORM, "name": "VideoHost", "purpose": "embedded",
                                "cookies": "vh | 6 months", "load_kind": "embed",
                                "load_url": EMBED}):
        assert admin.post("/t/acme/admin/consent/services/new", data=form).status_code == 303
    assert 'id="consent-banner"' in visitor.get(HOME).get_data(as_text=True)
    before = version()
    assert admin.post("/t/acme/admin/consent", data={
        "title-fr": "Vos choix, chez Acme", "title-en": "", "body-fr": "", "body-en": "",
        "lifetime_months": "13", "retention_years": "5"}).status_code == 303
    assert version() == before + 1
    page = visitor.get(HOME).get_data(as_text=True)
    assert "Vos choix, chez Acme" in page
    version_field = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert int(version_field) == before + 1

    refused = visitor.post(CHOICE, data={"decision": "refuse", "version": version_field,
                                         "next": HOME})
    assert refused.status_code == 303
    assert 'id="consent-banner"' not in visitor.get(HOME).get_data(as_text=True)
    settings_page = visitor.get(CHOICE).get_data(as_text=True)
    consent_id = consent_cookie(refused)["value"]
    assert consent_id in settings_page  # the visitor can quote it
    with tenants_api.tenant_context("acme") as db:
        ids = {s.name: s.id for s in consent_banner.list_services(db)}
    matomo = ids["Matomo"]
    accepted = visitor.post(CHOICE, data={"decision": "choose", "services": str(matomo),
                                          "version": version_field, "next": HOME})
    assert accepted.status_code == 303
    page = visitor.get(HOME).get_data(as_text=True)
    assert SCRIPT in page and EMBED not in page and "consent-placeholder" in page

    html = admin.get("/t/acme/admin/consent/ledger",
                     query_string={"consent_id": consent_cookie(accepted)["value"]}
                     ).get_data(as_text=True)
    assert html.count("<tr>") == 3
    assert "Matomo: refused; VideoHost: refused" in html
    assert "Matomo: accepted; VideoHost: refused" in html
    for entry in entries():
        assert entry.participant_id is None
        assert set(entry.choices) == {str(i) for i in ids.values()}


def test_htmx_answers_redirect_and_choose_swaps_the_banner(app, client):
    add_service()
    fragment = client.get(CHOICE, query_string={"next": HOME}, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert body.lstrip().startswith('<section id="consent-banner"')
    response = client.post(CHOICE, data={"decision": "accept", "version": str(version()),
                                         "next": HOME}, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == HOME
    assert consent_cookie(response)["value"]


SERVICE_FIELDS = ("name", "provider", "purpose", "cookies", "location", "load_kind", "load_url")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({name: odd for name in SERVICE_FIELDS}))
def test_junk_services_never_fail_and_never_half_save(app, client, values):
    if client.get_cookie("parvis_session") is None:  # the first example signs in
        sign_in_member(client, "acme", "admin", in_english=True)
    response = client.post("/t/acme/admin/consent/services/new", data=values)
    assert response.status_code in (303, 400, 422)
    with tenants_api.tenant_context("acme") as db:
        saved = consent_banner.list_services(db)
        if response.status_code != 303:
            assert saved == []
        for service in saved:
            assert service.load_url is None or consent_banner.valid_load_url(service.load_url)
            db.delete(service)


def test_consent_ids_sort_by_creation_so_purges_touch_one_end_of_the_index():
    start = datetime(2020, 1, 1, tzinfo=UTC)
    ids = [consent_ledger.new_consent_id(start + timedelta(milliseconds=ms))
           for ms in (0, 1, 999, 86_400_000, 10**12)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(consent_ledger.CONSENT_ID.fullmatch(i) for i in ids)
    same = {consent_ledger.new_consent_id(start) for _ in range(1000)}
    assert len(same) == 1000  # 120 random bits after the time
