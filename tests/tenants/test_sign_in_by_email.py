"""Registration without a password, and signing in by an e-mailed one-time link or code
(issue 19, item 1).

Through the test client, with e-mails caught by the SMTP sink (``outbox``). The acceptance
points: links and codes work once, expire, are throttled per address and per client address,
and the page, the status and the e-mails sent give the same answer for a known and an unknown
address. The sign-up without a password hashes nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from tenants import api as tenants_api
from tenants.participants.models import Participant, ParticipantToken
from tests import factories
from tests.fixtures.people import english
from tests.mail_sink import SMTPSink
from tests.tenants.account_helpers import (
    PASSWORD,
    count,
    mail_to,
    participant,
    path,
    person,
    signup_data,
)
from tests.tenants.registration_helpers import add_people

CONFIRM = "Confirm your e-mail address"
SIGN_IN = "Your sign-in link"
UNKNOWN = "Sign-in asked with this address"
CODE = re.compile(r"sign-in page: (\d{6})")


def no_password(email: str, **answers: str) -> dict[str, str]:
    """The sign-up form posted with the password fields left blank."""
    return signup_data(email, password="", **answers)


def ask(client, email: str, ip: str = "192.0.2.1", **data: str):  # type: ignore[no-untyped-def]
    """Ask for a sign-in e-mail from the page ``/login/email``."""
    return client.post("/t/acme/login/email", data={"email": email, **data},
                       environ_base={"REMOTE_ADDR": ip})


def sign_in_mail(outbox: SMTPSink, email: str) -> tuple[str, str]:
    """The link (a path for the test client) and the code of the last sign-in e-mail."""
    message: EmailMessage = mail_to(outbox, email, SIGN_IN)
    [link] = [u for u in outbox.links(message) if "/login/link/" in u]
    match = CODE.search(outbox.text(message))
    assert match, outbox.text(message)
    return path(link), match.group(1)


def signed_in_as(client) -> str | None:  # type: ignore[no-untyped-def]
    response = client.get("/t/acme/me")
    if response.status_code != 200:
        return None
    page = response.get_data(as_text=True)
    start = page.index("<dd>") + 4
    return page[start:page.index("</dd>", start)]


def passwordless(app, email: str) -> int:  # type: ignore[no-untyped-def]
    """A confirmed participant without a password, who reads e-mails in English."""
    with app.app_context():
        [found] = add_people("acme", 1, prefix=email.split("@")[0] + "-")
    with tenants_api.tenant_context("acme") as session:
        row = session.get_one(Participant, found)
        row.email, row.language = email, "en"
    return found


# --- signing up without a password ---------------------------------------------------------------


def test_a_sign_up_without_a_password_hashes_nothing_and_one_click_confirms_it(
        app, client, outbox, monkeypatch):
    from core.web import passwords

    hashed: list[str] = []
    monkeypatch.setattr(passwords, "hash_password", lambda pw: hashed.append(pw) or "x")
    english(client)
    with app.app_context():
        event = factories.event("acme", capacity=10)
    page = client.get(f"/t/acme/events/{event}/signup").get_data(as_text=True)
    assert "Password (optional)" in page and "sign in with a link sent by e-mail" in page
    response = client.post(f"/t/acme/events/{event}/signup", data=no_password("zoe@example.org"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/acme/signup/check-inbox"
    assert hashed == []  # the point: a cheap sign-up
    zoe = person("acme", "zoe@example.org")
    assert zoe is not None and not zoe.has_password and not zoe.is_confirmed

    [link] = [u for u in outbox.links(mail_to(outbox, "zoe@example.org", CONFIRM))
              if "/confirm/" in u]
    confirmed = client.get(path(link))  # one click: the address and the registration
    assert confirmed.headers["Location"] == "/t/acme/me/registrations"
    assert person("acme", "zoe@example.org").is_confirmed
    mine = client.get("/t/acme/me/registrations").get_data(as_text=True)
    assert "Workshop" in mine and signed_in_as(client) == "zoe@example.org"
    # Without a password, the profile offers to choose one, without asking a current one.
    assert "Choose a password (optional)" in client.get("/t/acme/me").get_data(as_text=True)
    form = client.get("/t/acme/me/password").get_data(as_text=True)
    assert 'name="current"' not in form


@pytest.mark.parametrize(("password", "confirm", "message"), [
    ("", "something", "The two passwords are different."),
    ("a long enough password", "", "Type the password a second time."),
    ("a long enough password", "another long password", "The two passwords are different."),
    ("short", "short", "Use at least"),
])
def test_a_typed_password_is_checked_and_a_refusal_stores_nothing(
        app, client, outbox, password, confirm, message):
    english(client)
    data = signup_data("zoe@example.org", password=password)
    data["password_confirm"] = confirm
    response = client.post("/t/acme/signup", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count("acme") == 0 and outbox.messages == []


def test_a_password_free_account_may_choose_a_password_then_use_it(app, client, outbox):
    english(client)
    passwordless(app, "ada@example.org")
    ask(client, "ada@example.org")
    link, _ = sign_in_mail(outbox, "ada@example.org")
    client.post(link)
    new = "a brand new passphrase"
    done = client.post("/t/acme/me/password", data={"password": new, "password_confirm": new})
    assert done.status_code == 303
    assert person("acme", "ada@example.org").has_password
    client.post("/t/acme/logout")
    assert client.post("/t/acme/login", data={"email": "ada@example.org",
                                              "password": new}).status_code == 303


def test_existing_password_accounts_sign_in_with_their_password_or_by_e_mail(
        app, client, outbox):
    english(client)
    with app.app_context():
        participant("acme", "ada@example.org")
    assert client.post("/t/acme/login", data={"email": "ada@example.org",
                                              "password": PASSWORD}).status_code == 303
    client.post("/t/acme/logout")
    ask(client, "ada@example.org")
    link, _ = sign_in_mail(outbox, "ada@example.org")
    assert client.post(link).status_code == 303
    assert signed_in_as(client) == "ada@example.org"
    assert person("acme", "ada@example.org").has_password  # untouched


# --- the e-mailed link and code --------------------------------------------------------------


def test_a_sign_in_link_asks_one_click_works_once_and_spends_the_code(app, client, outbox):
    english(client)
    passwordless(app, "ada@example.org")
    asked = ask(client, "ada@example.org", next="/t/acme/me")
    assert asked.status_code == 303
    assert asked.headers["Location"].startswith("/t/acme/login/code")
    link, code = sign_in_mail(outbox, "ada@example.org")
    page = client.get(link)  # a mail scanner opening the link spends nothing
    assert page.status_code == 200 and signed_in_as(client) is None
    assert "Continue" in page.get_data(as_text=True)
    followed = client.post(link)
    assert followed.status_code == 303 and followed.headers["Location"] == "/t/acme/me"
    assert signed_in_as(client) == "ada@example.org"
    client.post("/t/acme/logout")
    assert client.get(link).status_code == 410
    assert client.post(link).status_code == 410
    used = client.post("/t/acme/login/code", data={"email": "ada@example.org", "code": code})
    assert used.status_code == 422 and signed_in_as(client) is None


def test_a_sign_in_code_works_once(app, client, outbox):
    english(client)
    passwordless(app, "ada@example.org")
    ask(client, "ada@example.org")
    # The code page knows the address (from the cookie, never the URL).
    assert "ada@example.org" in client.get("/t/acme/login/code").get_data(as_text=True)
    link, code = sign_in_mail(outbox, "ada@example.org")
    done = client.post("/t/acme/login/code", data={"email": "ADA@example.org",
                                                   "code": f" {code[:3]} {code[3:]} "})
    assert done.status_code == 303 and done.headers["Location"] == "/t/acme/me/registrations"
    client.post("/t/acme/logout")
    again = client.post("/t/acme/login/code", data={"email": "ada@example.org", "code": code})
    assert again.status_code == 422
    assert "This code is not valid" in again.get_data(as_text=True)
    assert client.post(link).status_code == 410  # the link went with it


def test_links_and_codes_expire_after_15_minutes(app, client, outbox):
    english(client)
    passwordless(app, "ada@example.org")
    ask(client, "ada@example.org")
    link, code = sign_in_mail(outbox, "ada@example.org")
    with tenants_api.tenant_context("acme") as session:
        for token in session.scalars(select(ParticipantToken).where(
                ParticipantToken.purpose.in_(("login", "code")))):
            assert token.expires_at - token.created_at == timedelta(minutes=15)
            token.expires_at -= timedelta(minutes=15, seconds=1)
    assert client.get(link).status_code == 410
    assert client.post(link).status_code == 410
    assert client.post("/t/acme/login/code", data={"email": "ada@example.org",
                                                   "code": code}).status_code == 422
    assert signed_in_as(client) is None


def test_a_new_e_mail_replaces_the_last_one_and_none_goes_twice_a_minute(app, client, outbox):
    english(client)
    passwordless(app, "ada@example.org")
    ask(client, "ada@example.org")
    first, _ = sign_in_mail(outbox, "ada@example.org")
    ask(client, "ada@example.org")  # within a minute: the first e-mail still works
    assert len([m for m in outbox.messages if m["Subject"] == SIGN_IN]) == 1
    with tenants_api.tenant_context("acme") as session:
        for token in session.scalars(select(ParticipantToken)):
            token.created_at -= timedelta(minutes=2)
    outbox.clear()
    ask(client, "ada@example.org")
    second, _ = sign_in_mail(outbox, "ada@example.org")
    assert client.post(first).status_code == 410  # one live pair at a time
    assert client.post(second).status_code == 303


def test_known_and_unknown_addresses_get_the_same_page_status_and_e_mail_flow(
        app, client, outbox):
    english(client)
    passwordless(app, "ada@example.org")
    known = ask(client, "ada@example.org")
    unknown = ask(client, "who@example.org")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    pages = [client.get("/t/acme/login/code").get_data(as_text=True)]
    # Each address gets one e-mail; only its owner learns whether it has an account.
    assert sorted((m["To"], m["Subject"]) for m in outbox.messages) == [
        ("ada@example.org", SIGN_IN), ("who@example.org", UNKNOWN)]
    assert "/t/acme/signup" in outbox.text(mail_to(outbox, "who@example.org", UNKNOWN))
    assert count("acme") == 1  # nothing created for the stranger
    # A wrong code: the same answer for both.
    wrong = [client.post("/t/acme/login/code", data={"email": email, "code": "000000"})
             for email in ("ada@example.org", "who@example.org")]
    assert {r.status_code for r in wrong} == {422}
    texts = [factories.without_csrf_tokens(r.get_data(as_text=True))
             .replace("ada@example.org", "X").replace("who@example.org", "X") for r in wrong]
    assert texts[0] == texts[1]
    # The stranger is not e-mailed again within the window (no inbox flooding).
    outbox.clear()
    ask(client, "who@example.org")
    assert outbox.messages == [] and pages


def test_asking_is_throttled_per_address_the_same_for_known_and_unknown(app, client, outbox):
    english(client)
    passwordless(app, "ada@example.org")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for email in ("ada@example.org", "who@example.org"):
        for n in range(limit):
            assert ask(client, email, ip=f"198.51.100.{n}").status_code == 303
        blocked = ask(client, email.upper(), ip="198.51.100.99")
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) == app.config["LOGIN_FAILURE_WINDOW"]
        assert "Too many sign-in e-mails" in blocked.get_data(as_text=True)
    assert ask(client, "other@example.org", ip="198.51.100.99").status_code == 303


def test_asking_is_throttled_per_client_address(app, client, outbox, monkeypatch):
    english(client)
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 3)  # the app outlives the test
    for n in range(3):
        assert ask(client, f"p{n}@example.org").status_code == 303
    assert ask(client, "p9@example.org").status_code == 429
    assert ask(client, "p9@example.org", ip="203.0.113.7").status_code == 303


def test_code_guesses_are_throttled_per_address_and_per_client_address(app, client, outbox,
                                                                     monkeypatch):
    english(client)
    passwordless(app, "ada@example.org")
    ask(client, "ada@example.org")
    _, code = sign_in_mail(outbox, "ada@example.org")
    wrong = "000000" if code != "000000" else "111111"
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.post("/t/acme/login/code", data={"email": "ada@example.org",
                                                       "code": wrong},
                           environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code == 422
    blocked = client.post("/t/acme/login/code", data={"email": "ada@example.org", "code": code})
    assert blocked.status_code == 429 and signed_in_as(client) is None
    # Per client address: guesses at many addresses from one place stop too.
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 2)  # the app outlives the test
    for n in range(2):
        client.post("/t/acme/login/code", data={"email": f"x{n}@example.org", "code": wrong},
                    environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert client.post("/t/acme/login/code", data={"email": "y@example.org", "code": wrong},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429


def test_a_link_confirms_an_unconfirmed_account_and_moves_its_registration_on(
        app, client, outbox):
    english(client)
    with app.app_context():
        event = factories.event("acme", capacity=10)
    client.post(f"/t/acme/events/{event}/signup", data=no_password("zoe@example.org"))
    outbox.clear()  # the confirmation e-mail is lost
    ask(client, "zoe@example.org")
    link, _ = sign_in_mail(outbox, "zoe@example.org")
    assert client.post(link).status_code == 303
    assert person("acme", "zoe@example.org").is_confirmed
    assert "Workshop" in client.get("/t/acme/me/registrations").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_a_link_never_leads_off_site(app, client, outbox, target):
    passwordless(app, "ada@example.org")
    ask(client, "ada@example.org", next=target)
    link, _ = sign_in_mail(outbox, "ada@example.org")
    assert "evil" not in link
    response = client.post(link)
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/acme/me/registrations"


@pytest.mark.parametrize(("url", "data"), [
    ("/t/acme/login/email", {}), ("/t/acme/login/email", {"email": ""}),
    ("/t/acme/login/email", {"email": "x" * 300}), ("/t/acme/login/code", {}),
    ("/t/acme/login/code", {"email": "ada@example.org", "code": "x" * 50}),
    ("/t/acme/login/code", {"email": "", "code": "123456"})])
def test_junk_on_the_e_mail_sign_in_forms_is_refused_with_a_message(app, client, outbox, url,
                                                                     data):
    english(client)
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert outbox.messages == []
    assert client.get("/t/acme/login/link/" + "x" * 300).status_code == 410
