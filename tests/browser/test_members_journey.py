"""Members and two-factor sign-in in Chromium, in French and English (issue 7, point 3).

The owner of an organisation (two-factor sign-in on) invites a member; the member follows the
e-mailed link (from the SMTP sink the live server sends to), creates their account, sets up
two-factor sign-in with the key shown on the page (the test computes the codes as an
authentication app would), keeps the recovery codes, signs out and back in with a code (the
code already used is refused). The owner then requires two-factor sign-in
for every member and changes the member's role. axe-core checks the members page, the
invitation page, the setup page, the recovery codes and the code step.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.fixtures.browser import (
    accessibility,
    catalog,
    choose_language,
    on_server,
    shot,
    sign_in,
    t,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NEW_PASSWORD = "a long enough passphrase 7"
STEP = 30


def _seed(settings: dict, slug: str, owner: str, language: str) -> None:
    """In a child process (see test_registration_journey): an organisation and its owner,
    who has two-factor sign-in on (with the factories' key)."""
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name=f"Parvis Membres {language}", language=language)
        factories.account(owner, language=language, two_factor=True)
        factories.member(slug, owner, "owner")
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


@pytest.fixture
def people(live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[dict]:
    language = request.node.callspec.params["language"]
    tag = secrets.token_hex(3)
    found = {"slug": f"members-{language}-{tag}", "owner": f"owner-{tag}@members.test",
             "member": f"member-{tag}@example.org"}
    in_child(_seed, live_server.settings, found["slug"], found["owner"], language)
    yield found


def step_now() -> int:
    return int(time.time()) // STEP


@pytest.mark.parametrize("language", ["fr", "en"])
def test_invite_a_member_who_sets_up_two_factor(
        pages: Pages, live_server: LiveServer, mail_sink: SMTPSink, people: dict,
        language: str):
    members_url = f"{live_server.url}/t/{people['slug']}/admin/members"

    # The owner invites a member from the members page.
    owner = pages.open()
    sign_in(owner, live_server, people["owner"], language, lands_on=None)  # the code is next
    owner.get_by_label(t(language, "Code from your authentication app, or a recovery code")
                       ).fill(pyotp.TOTP(factories.TOTP_SECRET).now())
    owner.get_by_role("button", name=t(language, "Sign in")).last.click()
    expect(owner).to_have_url(re.compile(r"/account$"))
    owner.get_by_role("link", name=t(language, "Members"), exact=True).first.click()
    expect(owner).to_have_url(members_url)
    assert accessibility(owner, f"{language}-members") == []
    owner.get_by_label(t(language, "E-mail address")).fill(people["member"])
    owner.get_by_label(t(language, "Role"), exact=True).select_option("manager")
    owner.get_by_role("button", name=t(language, "Send the invitation")).click()
    expect(owner.get_by_role("status")).to_have_text(
        t(language, "Invitation sent to %(email)s.", email=people["member"]))
    shot(owner, f"members-{language}-invited")

    # The member follows the e-mailed link and creates their account.
    mail = mail_sink.wait_for(lambda m: m["To"] == people["member"], timeout=15)
    link = next(u for u in mail_sink.links(mail) if "/invitations/" in u)
    member = pages.open()
    member.goto(on_server(live_server, link))
    choose_language(member, language)
    expect(member.get_by_role("heading", level=1)).to_have_text(
        t(language, "Join %(name)s", name=f"Parvis Membres {language}"))
    assert accessibility(member, f"{language}-invitation") == []
    shot(member, f"members-{language}-invitation")
    member.get_by_label(t(language, "Your name")).fill("Camille Martin")
    member.get_by_label(t(language, "New password"), exact=True).fill(NEW_PASSWORD)
    member.get_by_label(t(language, "Repeat the new password"), exact=True).fill(NEW_PASSWORD)
    member.get_by_role("button", name=t(language, "Create my account and join")).click()
    expect(member).to_have_url(re.compile(rf"/t/{people['slug']}/admin/events$"))

    # Two-factor setup: the key shown on the page gives the codes.
    member.goto(f"{live_server.url}/account")
    member.get_by_role("link", name=t(language, "Set up two-factor sign-in")).click()
    expect(member.get_by_role("img", name=t(
        language, "QR code to scan with your authentication app"))).to_be_visible()
    assert accessibility(member, f"{language}-two-factor-setup") == []
    shot(member, f"members-{language}-two-factor-setup")
    totp = pyotp.TOTP(member.locator("#totp-secret").inner_text())
    used = step_now()
    member.get_by_label(t(language, "Code shown by the app")).fill(totp.at(used * STEP))
    member.get_by_role("button", name=t(language, "Turn on two-factor sign-in")).click()
    expect(member.get_by_role("heading", level=1)).to_have_text(
        t(language, "Your recovery codes"))
    expect(member.locator(".recovery-codes li")).to_have_count(10)
    assert accessibility(member, f"{language}-recovery-codes") == []
    shot(member, f"members-{language}-recovery-codes")
    member.get_by_role("link", name=t(language, "I have saved my codes, continue")).click()
    expect(member.get_by_text(t(language, "Two-factor sign-in: on."))).to_be_visible()

    # Signed out and back in: the password, then a code (not the one already used).
    member.get_by_role("button", name=t(language, "Sign out")).first.click()
    expect(member).to_have_url(re.compile(r"/login$"))
    sign_in(member, live_server, people["member"], language, password=NEW_PASSWORD,
            lands_on=None)
    expect(member).to_have_url(re.compile(r"/login/code$"))
    assert accessibility(member, f"{language}-code-step") == []
    shot(member, f"members-{language}-code-step")
    code_label = t(language, "Code from your authentication app, or a recovery code")
    member.get_by_label(code_label).fill(totp.at(used * STEP))  # replayed: refused
    member.get_by_role("button", name=t(language, "Sign in")).last.click()
    expect(member.get_by_text(t(language, "This code is not valid. Codes change every 30 "
                                          "seconds and each can be used once."))).to_be_visible()
    member.get_by_label(code_label).fill(totp.at(max(used + 1, step_now()) * STEP))
    member.get_by_role("button", name=t(language, "Sign in")).last.click()
    expect(member).to_have_url(re.compile(r"/account$"))

    # The owner requires two-factor sign-in and changes the member's role.
    owner.reload()
    owner.get_by_label(t(language, "Require two-factor sign-in for every member")).check()
    owner.get_by_role("button", name=t(language, "Save"), exact=True).click()
    expect(owner.get_by_role("status")).to_have_text(
        t(language, "Members must now use two-factor sign-in."))
    row = owner.get_by_role("row").filter(has_text=people["member"])
    expect(row.get_by_role("cell").nth(0)).to_have_text(
        catalog(language).upgettext("two-factor", "on"))
    row.get_by_label(t(language, "Role of %(email)s", email=people["member"])).select_option(
        "moderator")
    row.get_by_role("button", name=t(language, "Change role")).click()
    expect(owner.get_by_role("status")).to_have_text(
        t(language, "%(email)s's role is changed.", email=people["member"]))
    expect(owner.get_by_role("row").filter(has_text=people["member"]).get_by_label(
        t(language, "Role of %(email)s", email=people["member"]))).to_have_value("moderator")
    assert accessibility(owner, f"{language}-members-after") == []
    shot(owner, f"members-{language}-role-changed")

    # The member, with two-factor sign-in on, still reaches the administration pages.
    member.goto(f"{live_server.url}/t/{people['slug']}/admin/events")
    expect(member).to_have_url(re.compile(rf"/t/{people['slug']}/admin/events$"))
