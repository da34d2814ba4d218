"""The staff's participant list: search, filters, pages, the CSV export and its access-log entry
(issue 19, item 5)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.consent import ledger
from tenants.participants import directory
from tenants.participants.models import Participant
from tenants.rights.models import PrivacyChoices
from tests import factories
from tests.fixtures.people import english, sign_in_member
from tests.tenants.ratings_helpers import attendee
from tests.tenants.registration_helpers import add_people

URL = "/t/acme/admin/participants"


def _people(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Ada (fr, opted in, registered to the event), Bob (restricted, registered), Chloé (en),
    and a formula-looking name."""
    with app.app_context():
        event = factories.event("acme")
        ids = {
            "ada": factories.confirmed_participant("acme", "ada@example.org", first_name="Ada",
                                                   last_name="Lovelace", language="fr"),
            "bob": factories.confirmed_participant("acme", "bob@example.org", first_name="Bob",
                                                   last_name="Martin", language="fr"),
            "chloe": factories.confirmed_participant("acme", "chloe@example.org",
                                                     first_name="Chloé", last_name="Durand",
                                                     language="en"),
            "eve": factories.confirmed_participant("acme", "eve@example.org",
                                                   first_name="=HYPERLINK(1)", last_name="Zed",
                                                   language="en"),
        }
        with tenants_api.tenant_context("acme") as session:
            ledger.record_registration(session, session.get(Participant, ids["ada"]),
                                       privacy_version="1", terms_version="",
                                       marketing_opt_in=True)
            ledger.record_registration(session, session.get(Participant, ids["chloe"]),
                                       privacy_version="1", terms_version="",
                                       marketing_opt_in=False)
            session.add(PrivacyChoices(participant_id=ids["bob"], restricted_at=utcnow()))
        attendee("acme", event, ids["ada"])
        attendee("acme", event, ids["bob"], attended=False, status="waitlisted")
    ids["event"] = event
    return ids


def _rows(html: str) -> list[str]:
    """The people listed, by e-mail, in order."""
    return [mail for mail in ("ada@example.org", "bob@example.org", "chloe@example.org",
                              "eve@example.org") if mail in html]


def test_search_and_filters(app, client):
    ids = _people(app)
    sign_in_member(client, "acme", "viewer", in_english=True)
    everyone = client.get(URL).get_data(as_text=True)
    assert _rows(everyone) == ["ada@example.org", "bob@example.org", "chloe@example.org",
                               "eve@example.org"]
    assert "4 participants" in everyone
    # Restricted people are marked; a viewer has no export link.
    assert everyone.count("Processing restricted: keep, do not contact") == 1
    assert "participants.csv" not in everyone

    def listed(**args: object) -> list[str]:
        page = client.get(URL, query_string=args)
        assert page.status_code == 200
        return _rows(page.get_data(as_text=True))

    assert listed(q="LOVE") == ["ada@example.org"]
    assert listed(q="ada lovelace") == ["ada@example.org"]
    assert listed(q="chloe@") == ["chloe@example.org"]
    assert listed(q="%") == []  # typed wildcards are matched literally
    assert listed(event=ids["event"]) == ["ada@example.org", "bob@example.org"]
    assert listed(event=ids["event"], status="waitlisted") == ["bob@example.org"]
    assert listed(status="confirmed") == ["ada@example.org"]
    assert listed(language="en") == ["chloe@example.org", "eve@example.org"]
    assert listed(restricted="yes") == ["bob@example.org"]
    assert listed(restricted="no") == ["ada@example.org", "chloe@example.org",
                                       "eve@example.org"]
    assert listed(opted_in="yes") == ["ada@example.org"]
    assert listed(opted_in="no", language="fr") == ["bob@example.org"]


def test_bad_filters_are_a_clear_error_and_filter_nothing(app, client):
    _people(app)
    sign_in_member(client, "acme", "manager", in_english=True)
    for args in ({"event": "999999"}, {"status": "nope"}, {"q": "x" * 201},
                 {"restricted": "maybe"}, {"page": "-3"}):
        page = client.get(URL, query_string=args)
        html = page.get_data(as_text=True)
        if "page" in args:
            assert page.status_code == 200 and "4 participants" in html
            continue
        assert page.status_code == 422, args
        assert "Some filters are not valid" in html and "4 participants" in html
        assert client.get(f"{URL}.csv", query_string=args).status_code == 422
    with tenants_api.tenant_context("acme") as session:
        assert session.scalars(select(AccessLog)).all() == []  # nothing exported, nothing logged


def test_htmx_filtering_returns_the_results_only(app, client):
    _people(app)
    sign_in_member(client, "acme", "viewer", in_english=True)
    fragment = client.get(URL, query_string={"q": "bob"}, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "<form" not in html and "<html" not in html
    assert _rows(html) == ["bob@example.org"] and "1 participant" in html


def test_pages_and_total_from_the_filtered_list(app, client):
    add_people("acme", 120)
    sign_in_member(client, "acme", "viewer", in_english=True)
    first = client.get(URL).get_data(as_text=True)
    assert "120 participants" in first and "Page 1 of 3" in first
    third = client.get(URL, query_string={"page": 3, "q": "first1"}).get_data(as_text=True)
    # first1, first10-19, first100-119: 31 people, one page; past it, the total stays right.
    assert "31 participants" in third and "Page 1 of" not in third
    second = client.get(URL, query_string={"page": 2, "q": "last"}).get_data(as_text=True)
    assert "Page 2 of 3" in second
    assert "page=3&amp;q=last" in second or "q=last&amp;page=3" in second


def test_export_of_the_filtered_list_is_logged_and_leaves_restricted_people_out(app, client):
    ids = _people(app)
    sign_in_member(client, "acme", "manager", in_english=True)
    page = client.get(URL, query_string={"event": ids["event"]}).get_data(as_text=True)
    assert f"/t/acme/admin/participants.csv?event={ids['event']}" in page
    assert "1 person who restricted processing is left out of the export." in page

    response = client.get(f"{URL}.csv", query_string={"event": ids["event"]})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Last name", "First name", "E-mail"]
    assert [row[2] for row in rows[1:]] == ["ada@example.org"]  # Bob restricted: left out
    assert rows[1][5] == "Yes"  # opted in

    everyone = list(csv.reader(io.StringIO(
        client.get(f"{URL}.csv").get_data(as_text=True).lstrip("\ufeff"))))
    # By last name: Durand, Lovelace, Zed (Martin restricted: left out).
    assert [row[2] for row in everyone[1:]] == ["chloe@example.org", "ada@example.org",
                                                "eve@example.org"]
    assert everyone[3][1] == "'=HYPERLINK(1)"  # formula neutralised

    with tenants_api.tenant_context("acme") as session:
        logs = list(session.scalars(select(AccessLog).order_by(AccessLog.id)))
    assert [(log.action, log.target) for log in logs] == [
        ("participants.export", f"participants?event={ids['event']}"),
        ("participants.export", "participants")]
    assert all(log.member_id is not None for log in logs)
    # The access log page names the action.
    sign_in_member(client, "acme", "admin", in_english=True)
    log_page = client.get("/t/acme/admin/access-log").get_data(as_text=True)
    assert "Exported the list of participants" in log_page


def test_only_managers_and_above_export(app, client):
    _people(app)
    sign_in_member(client, "acme", "viewer", in_english=True)
    assert client.get(f"{URL}.csv").status_code == 403


def test_the_unfiltered_filter_form_is_kept_per_language_until_an_event_changes(
        app, client, monkeypatch):
    """The whole unfiltered page shows its filter form as kept (the same for every member),
    without reading the events again: a new or renamed event shows at the next page, each
    language gets its own, and a filtered page still shows what was chosen."""
    from tenants.events.models import Event

    reads = []
    event_choices = directory.event_choices
    monkeypatch.setattr(directory, "event_choices",
                        lambda session: reads.append(1) or event_choices(session))
    first = factories.event("acme", title={"fr": "Atelier", "en": "Workshop"})
    sign_in_member(client, "acme", "viewer", in_english=True)
    page = client.get(URL).get_data(as_text=True)
    assert f'<option value="{first}">Workshop (' in page and "Any event" in page
    assert f'<option value="{first}">Workshop (' in client.get(URL).get_data(as_text=True)
    assert len(reads) == 1  # the events were read for the first page only

    second = factories.event("acme", title={"fr": "Conférence", "en": "Talk"})
    with tenants_api.tenant_context("acme") as session:
        session.get_one(Event, first).title = {"fr": "Atelier", "en": "Renamed workshop"}
    page = client.get(URL).get_data(as_text=True)
    assert f'<option value="{second}">Talk (' in page
    assert f'<option value="{first}">Renamed workshop (' in page
    assert "Workshop (" not in page.replace("Renamed workshop (", "")

    with client.session_transaction() as cookie:
        cookie["lang"] = "fr"
    page = client.get(URL).get_data(as_text=True)
    assert f'<option value="{second}">Conférence (' in page
    assert "N&#39;importe quel événement" in page or "N'importe quel événement" in page

    chosen = english(client).get(URL, query_string={"event": str(second)})
    assert f'<option selected value="{second}">Talk (' in chosen.get_data(as_text=True)


def test_typed_wildcards_and_the_escape_character_are_matched_literally(app, client):
    with app.app_context():
        for first, last in (("Ana", "50%_off"), ("Bea", "a/b"), ("Cid", "Plain")):
            factories.confirmed_participant("acme", f"{first.lower()}@example.org",
                                            first_name=first, last_name=last)
    sign_in_member(client, "acme", "viewer", in_english=True)

    def listed(q: str) -> list[str]:
        html = client.get(URL, query_string={"q": q}).get_data(as_text=True)
        return [name for name in ("ana@", "bea@", "cid@") if name in html]

    assert listed("%") == ["ana@"] and listed("%_") == ["ana@"] and listed("_") == ["ana@"]
    assert listed("a/b") == ["bea@"] and listed("/") == ["bea@"]
    assert listed("a/") == ["bea@"] and listed("p%n") == []


def test_a_page_reads_its_rows_in_order_from_the_name_index(app):
    """Without it every page sorts every participant: its cost grows with the list."""
    with tenants_api.tenant_context("acme") as session:
        connection = session.connection()
        sent: list[tuple[str, object]] = []
        sqlalchemy_event.listen(connection, "before_cursor_execute",
                     lambda conn, cursor, sql, params, *_: sent.append((sql, params)))
        directory.page(session, directory.Filters(), offset=0, limit=50)
        sql, params = sent[0]  # the page's rows (the totals come second)
        assert "ORDER BY" in sql
        cursor = connection.connection.driver_connection.cursor()
        if connection.dialect.name == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "USING INDEX ix_participants_name" in plan, plan
            assert "ORDER BY" not in plan, plan  # no sorter
        else:
            cursor.execute("SET enable_sort = off")  # a tiny table: no sort if it can
            try:
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = " ".join(row[0] for row in cursor.fetchall())
            finally:
                cursor.execute("RESET enable_sort")
            assert "ix_participants_name" in plan and "Sort" not in plan, plan
