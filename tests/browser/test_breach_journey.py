"""Sub-processor objection and breach workflow in Chromium, in French and English (issue 8).

An operator announces a new sub-processor and the owner of one organisation objects from the
e-mailed link. Then the operator records a breach touching two organisations: both owners are
e-mailed, both incidents show their clocks on the operator's page; one owner opens the incident,
finds the CNIL draft pre-filled, writes the participant notice's contact and sends it: its
confirmed participant gets the notice, the other organisation's participant gets nothing.
Last, that owner grants the support access for an hour: the operator reads its participant
list under the support banner, and the owner sees the page read. axe-core checks the incident
form, the organisation's incident page, the register and the support-access page.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.fixtures.browser import accessibility, label, on_server, shot, sign_in, t
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NATURE = {"fr": "Une sauvegarde est restée lisible publiquement pendant deux heures.",
          "en": "A backup stayed publicly readable for two hours."}


def _seed(settings: dict, people: dict, language: str) -> None:
    """In a child process: two organisations, each with an owner and a confirmed participant,
    and a privacy operator."""
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        for key in ("a", "b"):
            factories.tenant(people[f"slug_{key}"], name=people[f"name_{key}"],
                             language=language)
            factories.account(people[f"owner_{key}"], language=language)
            factories.member(people[f"slug_{key}"], people[f"owner_{key}"], "owner")
            tenants_api.add_participant(people[f"slug_{key}"], email=people[f"person_{key}"],
                                        first_name="Ada", language=language)
        factories.account(people["operator"], operator_role="privacy", language=language)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


@pytest.fixture
def people(live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[dict]:
    language = request.node.callspec.params["language"]
    tag = secrets.token_hex(3)
    found = {"operator": f"privacy-{tag}@parvis.test"}
    for key in ("a", "b"):
        found |= {f"slug_{key}": f"br{key}-{language}-{tag}",
                  f"name_{key}": f"Breach {key.upper()} {language} {tag}",
                  f"owner_{key}": f"owner-{key}-{tag}@breach.test",
                  f"person_{key}": f"person-{key}-{tag}@example.org"}
    in_child(_seed, live_server.settings, found, language)
    yield found


def announce_sub_processor(ops: Page, server: LiveServer, language: str, name: str) -> None:
    ops.goto(f"{server.url}/ops/sub-processors")
    label(ops, language, "Name").fill(name)
    label(ops, language, "Purpose (French)").fill("Analyse des journaux")
    label(ops, language, "Purpose (English)").fill("Log analysis")
    label(ops, language, "Data categories (French)").fill("Adresses IP")
    label(ops, language, "Data categories (English)").fill("IP addresses")
    label(ops, language, "Location of processing").fill("Irlande / Ireland")
    label(ops, language, "Safeguard").select_option("eu")
    ops.get_by_role("button", name=t(language, "Add"), exact=True).click()
    effective = (datetime.now(UTC) + timedelta(days=40)).date()
    label(ops, language, "Kind of change").select_option("added")
    label(ops, language, "Takes effect on").fill(effective.isoformat())
    ops.get_by_role("button", name=t(language, "Announce"), exact=True).click()
    expect(ops.get_by_role("heading", level=1)).to_have_text(
        t(language, "Announcements and objections"))


def affected_row(page: Page, language: str, name: str):  # type: ignore[no-untyped-def]
    table = page.get_by_role("table", name=t(language, "Affected organisations"))
    return table.get_by_role("row").filter(has_text=name)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_objection_then_breach_touching_two_organisations(
        pages: Pages, live_server: LiveServer, mail_sink: SMTPSink, people: dict,
        language: str):
    tag = people["slug_a"][-6:]

    # 1. A new sub-processor is announced; owner A objects from the e-mailed link.
    ops = pages.open()
    sign_in(ops, live_server, people["operator"], language, two_factor=True)  # an operator
    provider = f"LogCloud {tag}"
    announce_sub_processor(ops, live_server, language, provider)
    mail = mail_sink.wait_for(
        lambda m: m["To"] == people["owner_a"] and provider in m["Subject"], timeout=15)
    link = next(u for u in mail_sink.links(mail) if people["slug_a"] in u)
    owner = pages.open()
    sign_in(owner, live_server, people["owner_a"], language)
    owner.goto(on_server(live_server, link))
    change = owner.get_by_role("region", name=re.compile(re.escape(provider)))
    change.get_by_label(t(language, "Reason (optional)")).fill("Hors de notre contrat.")
    change.get_by_role("button", name=t(language, "Object to this change")).click()
    expect(owner.get_by_role("status")).to_contain_text(
        t(language, "Your objection is recorded. We will contact you before the change "
                    "takes effect."))

    # 2. The operator records a breach touching both organisations.
    ops.goto(f"{live_server.url}/ops/breaches")
    ops.get_by_role("link", name=t(language, "Record an incident")).click()
    expect(ops.get_by_role("heading", level=1)).to_have_text(t(language, "Record an incident"))
    assert accessibility(ops, f"{language}-breach-form") == []
    label(ops, language, "Nature of the breach").fill(NATURE[language])
    label(ops, language, "Data categories concerned").fill("Noms, adresses e-mail")
    label(ops, language, "Approximate number of people concerned").fill("250")
    label(ops, language, "Likely consequences").fill("Hameçonnage / phishing")
    label(ops, language, "Measures taken or proposed").fill("Accès fermé, clés changées")
    ops.get_by_label(t(language, "Specific organisations"), exact=True).check()
    ops.get_by_label(people["name_a"], exact=True).check()
    ops.get_by_label(people["name_b"], exact=True).check()
    shot(ops, f"breach-{language}-form")
    ops.get_by_role("button", name=t(language, "Record and notify the organisations")).click()
    expect(ops.get_by_role("status")).to_have_text(t(
        language, "The incident is recorded; each affected organisation is being notified."))
    expect(affected_row(ops, language, people["name_a"])).to_contain_text(people["owner_a"])
    expect(affected_row(ops, language, people["name_b"])).to_contain_text(people["owner_b"])
    shot(ops, f"breach-{language}-operator")

    # 3. Both owners are e-mailed; owner A opens the incident from the link.
    subject = t(language, "Personal data breach affecting %(name)s", name=people["name_b"])
    mail_sink.wait_for(lambda m: m["To"] == people["owner_b"] and m["Subject"] == subject)
    subject = t(language, "Personal data breach affecting %(name)s", name=people["name_a"])
    mail = mail_sink.wait_for(lambda m: m["To"] == people["owner_a"] and m["Subject"] == subject)
    link = next(u for u in mail_sink.links(mail) if "/breaches/" in u)
    owner.goto(on_server(live_server, link))
    cnil = owner.get_by_role("region", name=t(language, "Notification to the CNIL"))
    expect(cnil.get_by_label(t(language, "Nature of the breach"), exact=True)).to_have_value(
        NATURE[language])
    expect(cnil.get_by_label(t(language, "Approximate number of people concerned"),
                             exact=True)).to_have_value("1")  # its one participant, not 250
    assert accessibility(owner, f"{language}-breach-tenant") == []
    shot(owner, f"breach-{language}-tenant")

    # 4. Owner A writes the contact and sends the notice to its participants.
    notice = owner.get_by_role("region", name=t(language, "Notice to your participants"))
    notice.get_by_label(t(language, "Who to contact"), exact=True).fill("dpo@breach.test")
    notice.get_by_role("button", name=t(language, "Send to the participants")).click()
    expect(owner.get_by_role("status")).to_have_text(
        t(language, "The notice is being sent to your confirmed participants."))
    sent = mail_sink.wait_for(lambda m: m["To"] == people["person_a"])
    assert sent["Subject"] == t(language, "Information about a personal data breach")
    assert "dpo@breach.test" in mail_sink.text(sent)
    assert not [m for m in mail_sink.messages if m["To"] == people["person_b"]]

    # 5. The register shows each step; organisation B has not sent anything.
    owner.goto(f"{live_server.url}/organisations/{people['slug_a']}/breaches")
    expect(owner.get_by_role("cell", name=t(language, "Participant notice sent"), exact=True)
           ).to_be_visible()
    assert accessibility(owner, f"{language}-breach-register") == []
    ops.reload()
    expect(affected_row(ops, language, people["name_b"])).to_contain_text(
        t(language, "not sent"))
    expect(affected_row(ops, language, people["name_a"])).not_to_contain_text(
        t(language, "not sent"))

    # 6. Owner A grants support access; the operator reads the participants; the owner sees it.
    owner.goto(f"{live_server.url}/organisations/{people['slug_a']}/support")
    label(owner, language, "For how long").select_option("1")
    label(owner, language, "Why").fill("Ticket 1234")
    owner.get_by_role("button", name=t(language, "Grant access")).click()
    expect(owner.get_by_role("status")).to_have_text(
        t(language, "Access granted. You can revoke it at any time."))
    ops.goto(f"{live_server.url}/ops/support")
    ops.get_by_role("link", name=people["name_a"]).click()
    expect(ops.get_by_role("rowheader", name="Ada")).to_be_visible()
    banner = t(language, "Support access, read-only, until %(when)s. Every page you open is "
                         "logged and shown to the organisation.", when="|").split("|")[0]
    expect(ops.get_by_role("status")).to_contain_text(banner)
    shot(ops, f"support-{language}-operator")
    owner.reload()
    reads = owner.get_by_role("table", name=t(language, "Pages the support read"))
    expect(reads).to_contain_text(people["operator"])
    expect(reads).to_contain_text(f"/t/{people['slug_a']}/admin/participants")
    assert accessibility(owner, f"{language}-support") == []
    shot(owner, f"support-{language}-tenant")
