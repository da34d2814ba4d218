"""Two-factor sign-in: setup, the second step, replays, recovery codes, throttling, operators,
disabling, and the password change page that ends other sessions."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
from sqlalchemy import func, select

from tests import factories
from tests.fixtures.people import is_signed_in as signed_in
from webapp import db
from webapp.auth import services
from webapp.auth.models import Account, LoginSession, RecoveryCode

EMAIL = "ada@acme.test"
OPERATOR = "ops@parvis.test"


def account(app, email: str = EMAIL) -> Account:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session().scalar(select(Account).where(Account.email == email))
        db.session().expunge(found)
        return found


def code_at(secret: str, offset_steps: int = 0) -> str:
    now = int(services.utcnow().timestamp()) // services.TOTP_STEP
    return pyotp.TOTP(secret).at((now + offset_steps) * services.TOTP_STEP)


def path(response) -> str:  # type: ignore[no-untyped-def]
    return urlsplit(response.headers["Location"]).path


def set_up(app, client, email: str = EMAIL) -> list[str]:  # type: ignore[no-untyped-def]
    """Turn two-factor sign-in on through the pages; returns the recovery codes shown."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    secret = account(app, email).totp_secret
    assert secret in page.get_data(as_text=True)
    assert "<svg" in page.get_data(as_text=True)  # the QR code, inline
    done = client.post("/account/two-factor", data={"code": code_at(secret)})
    assert done.status_code == 200
    return re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))


def test_setup_needs_a_right_code_and_shows_ten_recovery_codes_once(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    client.get("/account/two-factor")
    secret = account(app).totp_secret

    wrong = client.post("/account/two-factor", data={"code": "000000"})
    assert wrong.status_code == 422
    assert not account(app).has_two_factor
    assert account(app).totp_secret == secret  # the same QR code stays on screen

    done = client.post("/account/two-factor", data={"code": code_at(secret)})
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert account(app).has_two_factor
    with app.app_context():
        hashes = set(db.session().scalars(select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not hashes & set(codes)  # stored hashed only
    # Shown once: the page now offers to turn it off, not the codes.
    again = client.get("/account/two-factor").get_data(as_text=True)
    assert not any(code in again for code in codes)


def test_sign_in_asks_for_the_code_after_the_password(app, client):
    with app.app_context():
        factories.account(EMAIL, two_factor=True)

    first = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert first.status_code == 303 and path(first) == "/login/code"
    assert not signed_in(client)  # no login session before the code
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(LoginSession)) == 0

    assert client.post("/login/code", data={"code": "123456"}).status_code == 422
    assert client.post("/login/code", data={"code": "abc"}).status_code == 422
    assert not signed_in(client)
    done = client.post("/login/code", data={"code": code_at(factories.TOTP_SECRET)})
    assert done.status_code == 303 and path(done) == "/account"
    assert signed_in(client)


def test_the_code_page_without_a_password_first_goes_back_to_login(client):
    response = client.post("/login/code", data={"code": "123456"})
    assert response.status_code == 303 and path(response) == "/login"


def test_a_code_used_once_is_refused_again(app, client):
    with app.app_context():
        factories.account(EMAIL, two_factor=True)
    code = code_at(factories.TOTP_SECRET)
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert client.post("/login/code", data={"code": code}).status_code == 303

    thief = app.test_client()
    thief.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert thief.post("/login/code", data={"code": code}).status_code == 422
    # An older step than the last one used is refused too.
    assert thief.post("/login/code",
                      data={"code": code_at(factories.TOTP_SECRET, -1)}).status_code == 422
    assert not signed_in(thief)


def test_codes_outside_the_drift_window_are_refused(app, client, clock):
    with app.app_context():
        factories.account(EMAIL, two_factor=True)
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    old = code_at(factories.TOTP_SECRET)
    clock.advance(seconds=3 * services.TOTP_STEP)
    assert client.post("/login/code", data={"code": old}).status_code == 422


def test_a_recovery_code_works_once(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    codes = set_up(app, client)
    client.post("/logout")

    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    used = client.post("/login/code", data={"code": codes[0].upper()})
    assert used.status_code == 303
    assert "9" in client.get("/account").get_data(as_text=True)  # "9 codes left"
    client.post("/logout")

    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 422
    assert client.post("/login/code", data={"code": codes[1]}).status_code == 303


def test_wrong_codes_are_throttled_even_after_a_right_password(app, client):
    with app.app_context():
        factories.account(EMAIL, two_factor=True)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
        assert client.post("/login/code", data={"code": "000000"}).status_code == 422
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    refused = client.post("/login/code", data={"code": code_at(factories.TOTP_SECRET)})
    assert refused.status_code == 429
    assert not signed_in(client)


def test_the_password_step_expires(app, client, clock):
    with app.app_context():
        factories.account(EMAIL, two_factor=True)
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    clock.advance(minutes=6)
    response = client.post("/login/code", data={"code": code_at(factories.TOTP_SECRET)})
    assert response.status_code == 303 and path(response) == "/login"
    assert not signed_in(client)


def test_an_operator_without_two_factor_is_sent_to_set_it_up(app, client):
    with app.app_context():
        factories.account(OPERATOR, operator_role="admin", two_factor=False)
    factories.login(client, OPERATOR)

    for page in ("/ops/records", "/account", "/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert path(response) == "/account/two-factor"
    set_up(app, client, OPERATOR)
    assert client.get("/ops/records").status_code == 200


def test_an_operator_cannot_turn_two_factor_off(app, client):
    with app.app_context():
        factories.account(OPERATOR, operator_role="admin")
    factories.login(client, OPERATOR)
    response = client.post("/account/two-factor/disable", data={
        "password": factories.PASSWORD, "code": code_at(factories.TOTP_SECRET, 1)})
    assert response.status_code == 422
    assert account(app, OPERATOR).has_two_factor


def test_turning_off_needs_the_password_and_a_code(app, client):
    with app.app_context():
        factories.account(EMAIL, two_factor=True)
    factories.login(client, EMAIL)
    fresh = code_at(factories.TOTP_SECRET, 1)

    wrong_password = client.post("/account/two-factor/disable", data={
        "password": "not my password", "code": fresh})
    assert wrong_password.status_code == 422
    wrong_code = client.post("/account/two-factor/disable", data={
        "password": factories.PASSWORD, "code": "000000"})
    assert wrong_code.status_code == 422
    assert account(app).has_two_factor

    done = client.post("/account/two-factor/disable", data={
        "password": factories.PASSWORD, "code": fresh})
    assert done.status_code == 303
    assert not account(app).has_two_factor
    client.post("/logout")
    assert factories.login(client, EMAIL).status_code == 303  # the password alone again
    assert signed_in(client)


def test_password_change_page_ends_the_other_sessions(app, client):
    with app.app_context():
        factories.account(EMAIL)
    phone = app.test_client()
    factories.login(client, EMAIL)
    factories.login(phone, EMAIL)
    new = "a brand new passphrase 42"

    wrong = client.post("/account/password", data={
        "current_password": "nope", "new_password": new, "confirm": new})
    assert wrong.status_code == 422
    weak = client.post("/account/password", data={
        "current_password": factories.PASSWORD, "new_password": "short", "confirm": "short"})
    assert weak.status_code == 422
    assert signed_in(phone)

    done = client.post("/account/password", data={
        "current_password": factories.PASSWORD, "new_password": new, "confirm": new})
    assert done.status_code == 303
    assert signed_in(client)
    assert not signed_in(phone)
    assert factories.login(app.test_client(), EMAIL, new).status_code == 303


def test_logout_ends_the_session(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    with client.session_transaction() as session:
        kept = dict(session)
    client.post("/logout")
    with client.session_transaction() as session:
        session.update(kept)  # the old cookie, replayed
    assert not signed_in(client)


def test_recovery_codes_are_replaced_after_the_password_and_a_code(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    old = set_up(app, client)
    assert 'action="/account/two-factor/recovery-codes"' in client.get("/account/two-factor").text

    refused = client.post("/account/two-factor/recovery-codes", data={
        "new-password": "not my password", "new-code": old[0]})
    assert refused.status_code == 422 and 'id="new-password-error"' in refused.text
    bad_code = client.post("/account/two-factor/recovery-codes", data={
        "new-password": factories.PASSWORD, "new-code": "000000"})
    assert bad_code.status_code == 422 and 'id="new-code-error"' in bad_code.text
    with app.app_context():
        assert services.recovery_codes_left(db.session(), account(app)) == 10  # unchanged

    done = client.post("/account/two-factor/recovery-codes", data={
        "new-password": factories.PASSWORD, "new-code": code_at(account(app).totp_secret, 1)})
    assert done.status_code == 200
    new = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.text)
    assert len(set(new)) == 10 and not set(new) & set(old)
    with app.app_context():
        session, me = db.session(), account(app)
        assert not services.use_recovery_code(session, me, old[1])
        assert services.use_recovery_code(session, me, new[0])
        session.commit()
    assert account(app).has_two_factor  # still on


def test_recovery_codes_need_two_factor_on(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    sent = client.post("/account/two-factor/recovery-codes", data={
        "new-password": factories.PASSWORD, "new-code": "123456"})
    assert sent.status_code == 303 and path(sent) == "/account/two-factor"
