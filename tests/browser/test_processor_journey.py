"""Processor duties in Chromium, in French and English (issue 8).

An operator adds a sub-processor and announces it; the owner of an organisation gets the
e-mail (from the SMTP sink the live server sends to), follows its link and objects with a
reason; the operator sees the objection; the announcement shows on the public list. Then the
owner sees the DPA banner, reads the agreement and accepts it, and the banner is gone. axe-core
checks the public list and the objection page.

Texts go through the translation catalogues (see test_registration_journey), so the assertions
hold before and after the strings are translated.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.fixtures.browser import (
    accessibility,
    catalog,
    label,
    on_server,
    shot,
    sign_in,
    t,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PROVIDER = {"fr": "Visio Lumière", "en": "Bright Video"}
REASON = {"fr": "Notre contrat interdit ce prestataire.", "en": "Our contract rules it out."}


def _seed(settings: dict, slug: str, owner: str, operator: str, language: str) -> None:
    """In a child process (see test_registration_journey): an organisation with an owner who
    reads e-mails in ``language``, and a privacy operator."""
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name=f"Parvis Processor {language}", language=language)
        factories.account(owner, language=language)
        factories.member(slug, owner, "owner")
        factories.account(operator, operator_role="privacy", language=language)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


@pytest.fixture
def people(live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[dict]:
    language = request.node.callspec.params["language"]
    tag = secrets.token_hex(3)
    found = {"slug": f"proc-{language}-{tag}", "owner": f"owner-{tag}@processor.test",
             "operator": f"privacy-{tag}@parvis.test"}
    in_child(_seed, live_server.settings, found["slug"], found["owner"], found["operator"],
             language)
    yield found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_sub_processor_objection_and_dpa_acceptance(
        pages: Pages, live_server: LiveServer, mail_sink: SMTPSink,
        people: dict, language: str):
    provider = f"{PROVIDER[language]} {people['slug'][-6:]}"

    # The operator adds the sub-processor (a draft) and announces it.
    ops = pages.open()
    sign_in(ops, live_server, people["operator"], language, two_factor=True)  # an operator
    ops.goto(f"{live_server.url}/ops/sub-processors")
    label(ops, language, "Name").fill(provider)
    label(ops, language, "Purpose (French)").fill("Diffusion des classes virtuelles")
    label(ops, language, "Purpose (English)").fill("Streaming virtual classes")
    label(ops, language, "Data categories (French)").fill("Nom, adresse e-mail, image")
    label(ops, language, "Data categories (English)").fill("Name, e-mail address, picture")
    label(ops, language, "Location of processing").fill("Belgique / Belgium")
    label(ops, language, "Safeguard").select_option("eu")
    ops.get_by_role("button", name=t(language, "Add"), exact=True).click()
    expect(ops.get_by_role("heading", level=1)).to_have_text(provider)

    effective = (datetime.now(UTC) + timedelta(days=40)).date()
    label(ops, language, "Kind of change").select_option("added")
    label(ops, language, "Takes effect on").fill(effective.isoformat())
    expect(label(ops, language, "Objection window (days)")).to_have_value("30")
    label(ops, language, "Note to owners (French, optional)").fill("Nouvel outil de visio.")
    label(ops, language, "Note to owners (English, optional)").fill("New video tool.")
    ops.get_by_role("button", name=t(language, "Announce"), exact=True).click()
    expect(ops.get_by_role("heading", level=1)).to_have_text(
        t(language, "Announcements and objections"))
    shot(ops, f"processor-{language}-announced")

    # The owner gets the e-mail, in their language, and follows its link to object.
    mail = mail_sink.wait_for(
        lambda m: m["To"] == people["owner"] and provider in m["Subject"], timeout=15)
    note = {"fr": "Nouvel outil de visio.", "en": "New video tool."}[language]
    assert note in mail_sink.text(mail)
    link = next(u for u in mail_sink.links(mail) if u.endswith("/sub-processors")
                and people["slug"] in u)

    owner = pages.open()
    sign_in(owner, live_server, people["owner"], language)
    owner.goto(on_server(live_server, link))
    change = owner.get_by_role("region", name=re.compile(re.escape(provider)))
    expect(change).to_be_visible()
    assert accessibility(owner, f"{language}-objection") == []
    shot(owner, f"processor-{language}-objection")
    change.get_by_label(t(language, "Reason (optional)")).fill(REASON[language])
    change.get_by_role("button", name=t(language, "Object to this change")).click()
    expect(owner.get_by_role("status")).to_have_text(t(
        language,
        "Your objection is recorded. We will contact you before the change takes effect."))
    objected = catalog(language).ugettext("Your organisation objected on %(date)s.")
    expect(owner.get_by_role("region", name=re.compile(re.escape(provider)))).to_contain_text(
        objected.split("%(date)s")[0])

    # The operator sees the objection, with its reason.
    ops.reload()
    objection = ops.get_by_role("region", name=re.compile(re.escape(provider)))
    expect(objection.get_by_role("cell", name=REASON[language])).to_be_visible()
    expect(objection.get_by_role("cell", name=people["owner"])).to_be_visible()

    # Anybody sees the announced change on the public list.
    visitor = pages.open()
    visitor.goto(f"{live_server.url}/legal/sub-processors")
    if language == "en":
        visitor.get_by_role("button", name="English", exact=True).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(t(language, "Sub-processors"))
    expect(visitor.get_by_role("listitem").filter(has_text=provider)).to_be_visible()
    assert accessibility(visitor, f"{language}-sub-processors") == []
    shot(visitor, f"processor-{language}-public-list")

    # The owner sees the DPA banner, reads the agreement and accepts it; the banner goes.
    owner.goto(f"{live_server.url}/account")
    banner = owner.get_by_role("region", name=t(language, "Data processing agreement"))
    banner.get_by_role("link").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(
        {"fr": re.compile("^Accord de traitement"), "en": re.compile("^Data Processing")}[
            language])
    owner.get_by_label(t(language, "I have read this agreement and accept it on behalf of my "
                                   "organisation.")).check()
    owner.get_by_role("button", name=t(language, "Accept the agreement")).click()
    expect(owner.get_by_role("status")).to_have_text(
        t(language, "Thank you: the agreement is accepted."))
    expect(owner.get_by_text(t(language, "Your organisation has accepted the current "
                                         "version."))).to_be_visible()
    expect(owner.get_by_role("region", name=t(language, "Data processing agreement"))
           ).to_have_count(0)
    shot(owner, f"processor-{language}-dpa-accepted")
