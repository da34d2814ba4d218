"""The end of a contract in Chromium, in French and English (issue 7, journey 8).

The owner of an organisation terminates the contract from its Contract page (password and
confirmation), downloads the export bundle and finds its participants in it; the space now shows
a notice. Then, the return window over (the destruction job runs in a child of the test process
with its clock moved), the schema is gone, the owner sees the data destroyed and reads the
certificate, and an operator finds it in the list. axe-core checks each page.
"""

from __future__ import annotations

import json
import re
import secrets
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from core.clock import move_clock
from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.fixtures.browser import accessibility, label, shot, sign_in, t

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(settings: dict, slug: str, name: str, owner: str, operator: str, participant: str,
          language: str) -> None:
    """In a child process (see test_registration_journey): an organisation with an owner, a
    participant, and an operator."""
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name=name, language=language)
        factories.account(owner, language=language)
        factories.member(slug, owner, "owner")
        factories.participant(slug, participant, first_name="Ada", last_name="Lovelace")
        factories.account(operator, operator_role="admin", language=language)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def _destroy_after_the_window(settings: dict, slug: str) -> None:
    """In a child process: 61 days later, the scheduled destruction job runs."""
    from tenants import api as tenants_api
    from webapp import db
    from webapp.app import create_app
    from webapp.contract import tasks

    app = create_app(settings)
    move_clock(timedelta(days=61))
    with app.app_context():
        assert tasks.destroy_due.call_local() >= 1
        db.commit()
        assert not tenants_api.exists(slug)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()



@pytest.fixture
def people(live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[dict]:
    language = request.node.callspec.params["language"]
    tag = secrets.token_hex(3)
    found = {"slug": f"end-{language}-{tag}", "name": f"Club Fin {tag}",
             "owner": f"owner-{tag}@contract.test", "operator": f"ops-{tag}@parvis.test",
             "participant": f"ada-{tag}@contract.test"}
    in_child(_seed, live_server.settings, found["slug"], found["name"], found["owner"],
             found["operator"], found["participant"], language)
    yield found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_owner_terminates_downloads_and_gets_a_certificate(
        pages: Pages, live_server: LiveServer, people: dict, language: str, tmp_path):
    slug, found = people["slug"], []
    contract = f"{live_server.url}/organisations/{slug}/contract"

    # The owner terminates the contract from the Contract page.
    owner = pages.open()
    sign_in(owner, live_server, people["owner"], language)
    owner.goto(contract)
    expect(owner.get_by_role("heading", level=1)).to_have_text(
        t(language, "Contract: %(name)s", name=people["name"]))
    found += accessibility(owner, f"contract-{language}-running")
    shot(owner, f"contract-{language}-running")
    expect(label(owner, language, "Return window (days)")).to_have_value("60")
    terminate_button = owner.get_by_role("button", name=t(language, "Terminate the contract now"))
    label(owner, language, "Your password").fill("not my password")
    terminate_button.click()
    expect(owner.get_by_text(t(language, "Tick the box to confirm the termination."))
           ).to_be_visible()
    owner.get_by_role("checkbox").check()
    label(owner, language, "Your password").fill("not my password")
    terminate_button.click()
    expect(owner.get_by_text(t(language, "This password is not right."))).to_be_visible()
    owner.get_by_role("checkbox").check()
    label(owner, language, "Your password").fill(factories.PASSWORD)
    terminate_button.click()
    expect(owner.get_by_role("status")).to_have_text(
        t(language, "The contract has ended. Your export is being prepared."))

    # The export is ready: the owner downloads it and finds the participants in it.
    download_link = owner.get_by_role("link", name=t(language, "Download the export (zip)"))
    expect(download_link).to_be_visible()
    found += accessibility(owner, f"contract-{language}-ended")
    shot(owner, f"contract-{language}-ended")
    with owner.expect_download() as info:
        download_link.click()
    saved = tmp_path / "bundle.zip"
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        assert "participants" in {table["name"] for table in manifest["tables"]}
        participants = json.loads(bundle.read("json/participants.json"))
        assert people["participant"] in {p["email"] for p in participants}
        assert "csv/participants.csv" in bundle.namelist()
    owner.reload()
    expect(owner.get_by_text(t(language, "The export has not been downloaded yet."))
           ).to_have_count(0)  # the download is logged

    # The space is closed: a visitor meets the notice.
    visitor = pages.open()
    visitor.goto(f"{live_server.url}/t/{slug}/")
    expect(visitor.get_by_role("heading", level=1)).to_have_text(
        t(language, "This space is closed"))
    found += accessibility(visitor, f"contract-{language}-notice")
    shot(visitor, f"contract-{language}-notice")

    # After the window, the destruction job destroys the schema and issues the certificate.
    in_child(_destroy_after_the_window, live_server.settings, slug)
    owner.reload()
    expect(download_link).to_have_count(0)
    owner.get_by_role("link", name=t(language, "Destruction certificate")).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(
        t(language, "Destruction certificate"))
    expect(owner.get_by_role("main")).to_contain_text(people["name"])
    expect(owner.get_by_role("main")).not_to_contain_text("Lovelace")
    found += accessibility(owner, f"contract-{language}-certificate")
    shot(owner, f"contract-{language}-certificate")

    # The operator finds it in the list of certificates.
    ops = pages.open()
    sign_in(ops, live_server, people["operator"], language, two_factor=True)
    ops.goto(f"{live_server.url}/ops/certificates")
    row = ops.get_by_role("row").filter(has_text=people["name"])
    expect(row).to_have_count(1)
    found += accessibility(ops, f"contract-{language}-ops")
    row.get_by_role("link").click()
    expect(ops.get_by_role("heading", level=1)).to_have_text(
        t(language, "Destruction certificate"))
    assert found == []
    assert re.search(r"/ops/certificates/[0-9a-f-]{36}$", ops.url)
