"""The retention journey of issue 6 in Chromium, in French and English.

Sweeps run in a child process whose clock is moved forward (the live server keeps the real
time, which the records' dates only make later): an account unused for nearly 36 months is
warned by e-mail, deactivated 30 days later (signing in then offers to reactivate it), and
erased 30 days after that; a participant deletes their account and, 29 days on, takes it back
by signing in. The admin sees the matrix (a refused duration says why), the dry run and the
receipts of the sweeps. The retention pages pass axe-core.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.clock import move_clock, utcnow
from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.browser.test_ratings_journey import PASSWORD
from tests.fixtures.browser import (
    accessibility,
    member_sign_in,
    participant_sign_in,
    shot,
    t,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(settings: dict, slug: str, language: str) -> None:
    """In a child process: a tenant, its admin, Ina (last seen 36 months less 20 days ago)
    and Dan (active)."""
    from sqlalchemy import update

    from tenants import api as tenants_api
    from tenants.participants.models import Participant
    from tenants.retention import services
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Conservation", language="fr")
        factories.member(slug, f"admin@{slug}.example.org", "admin")
        ina = tenants_api.add_participant(slug, email=f"ina@{slug}.example.org",
                                          password=PASSWORD, first_name="Ina",
                                          last_name="Moreau", language=language)
        tenants_api.add_participant(slug, email=f"dan@{slug}.example.org", password=PASSWORD,
                                    first_name="Dan", last_name="Petit", language=language)
        with tenants_api.tenant_context(slug) as session:
            now = utcnow()
            session.execute(update(Participant).where(Participant.id == ina).values(
                last_active_at=services.shift(now, "months", -36) + services.WARNING / 1.5))
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def _sweep(settings: dict, slug: str, days: int) -> None:
    """In a child process whose clock is ``days`` ahead: the tenant's retention sweep."""
    from datetime import timedelta

    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    move_clock(timedelta(days=days))
    with app.app_context():
        tenants_api.sweep_retention(slug)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_retention_journey(pages: Pages, live_server: LiveServer, mail_sink: SMTPSink,
                           language: str) -> None:
    slug = f"retain-{language}"
    in_child(_seed, live_server.settings, slug, language)
    ina_email, dan_email = f"ina@{slug}.example.org", f"dan@{slug}.example.org"
    mail_sink.clear()

    # --- Dan deletes his account, and takes it back 29 days later ----------------------------
    dan = pages.open()
    participant_sign_in(dan, live_server, slug, f"dan@{slug}.example.org", language,
                        PASSWORD)
    dan.goto(f"{live_server.url}/t/{slug}/me/privacy")
    dan.get_by_label(t(language, "I want to delete my account")).check()
    dan.get_by_role("button", name=t(language, "Delete my account")).click()
    expect(dan.get_by_role("heading", level=1)).to_have_text(
        t(language, "Your account is deleted"))

    # --- the first sweep: Ina is warned --------------------------------------------------------
    in_child(_sweep, live_server.settings, slug, 0)
    warning = mail_sink.wait_for(lambda m: m["To"] == ina_email)
    assert t(language, "To keep it, simply sign in before that date:") in SMTPSink.text(warning)
    assert f"/t/{slug}/login" in SMTPSink.text(warning)

    # --- 29 days on: Dan is not erased yet, and signs in again ---------------------------------
    in_child(_sweep, live_server.settings, slug, 29)
    participant_sign_in(dan, live_server, slug, f"dan@{slug}.example.org", language,
                        PASSWORD, lands=False)  # whatever page it leads to
    expect(dan.get_by_role("heading", level=1)).to_have_text(
        t(language, "Your account is deactivated"))
    expect(dan.locator("main")).to_contain_text(
        t(language, "You asked for this account to be deleted."))
    assert accessibility(dan, f"{language}-reactivate") == []
    shot(dan, f"retention-{language}-reactivate")
    dan.get_by_role("button", name=t(language, "Reactivate my account")).click()
    expect(dan.locator("main")).to_contain_text(
        t(language, "Welcome back: your account is active again."))

    # --- 31 days after the warning: Ina's account is deactivated; 62 days: erased -------------
    in_child(_sweep, live_server.settings, slug, 31)
    ina = pages.open()
    participant_sign_in(ina, live_server, slug, f"ina@{slug}.example.org", language,
                        PASSWORD, lands=False)  # whatever page it leads to
    expect(ina.get_by_role("heading", level=1)).to_have_text(
        t(language, "Your account is deactivated"))
    expect(ina.locator("main")).to_contain_text(t(
        language, "This account was deactivated because it had not been used for a long time."))
    in_child(_sweep, live_server.settings, slug, 62)
    participant_sign_in(ina, live_server, slug, f"ina@{slug}.example.org", language,
                        PASSWORD, lands=False)  # whatever page it leads to
    expect(ina.locator("main")).to_contain_text(
        t(language, "E-mail address or password is incorrect."))
    assert not [m for m in mail_sink.messages if m["To"] == dan_email]  # Dan was never warned

    # --- the admin: matrix, dry run, receipts -------------------------------------------------
    admin = pages.open()
    matrix = f"{live_server.url}/t/{slug}/admin/retention"
    member_sign_in(admin, matrix, f"admin@{slug}.example.org", language)
    expect(admin.get_by_role("heading", level=1)).to_have_text(t(language, "Retention"))
    assert accessibility(admin, f"{language}-retention-matrix") == []
    row = admin.locator("#rule-connection_logs")
    row.get_by_role("spinbutton").or_(row.get_by_role("textbox")).fill("13")
    row.get_by_role("button", name=t(language, "Save")).click()
    expect(admin.locator("#rule-connection_logs .error")).to_contain_text("12")
    row = admin.locator("#rule-connection_logs")
    row.get_by_role("spinbutton").or_(row.get_by_role("textbox")).fill("6")
    row.get_by_role("button", name=t(language, "Save")).click()
    expect(admin.locator("#rule-connection_logs [role=status]")).to_have_text(
        t(language, "Saved: the next sweeps follow this rule."))
    shot(admin, f"retention-{language}-matrix")

    admin.get_by_role("link", name=t(language, "What expires in the next 30 days")).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        t(language, "What expires in the next 30 days"))
    assert accessibility(admin, f"{language}-retention-upcoming") == []

    admin.goto(matrix)
    admin.get_by_role("link", name=t(language, "Receipts of the sweeps")).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        t(language, "Receipts of the sweeps"))
    receipts = admin.locator("main")
    for kind, step in (("Inactive participant accounts", "warned by e-mail"),
                       ("Inactive participant accounts", "deactivated"),
                       ("Inactive participant accounts", "erased")):
        expect(receipts.get_by_role("row").filter(has_text=t(language, kind))
               .filter(has_text=t(language, step))).not_to_have_count(0)
    expect(receipts).not_to_contain_text(ina_email)
    assert accessibility(admin, f"{language}-retention-receipts") == []
    shot(admin, f"retention-{language}-receipts")
