"""The admins' view of what is kept about a participant and why (PRODUCT.md, "Retention and
deletion": admins see, per participant, what is kept and why): the same facts as the
participant's own privacy page, built by the same function, and a logged read."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.events.models import Event
from tenants.fields.models import Answer
from tenants.participants.models import Participant
from tenants.retention.services import KINDS
from tenants.rights import services
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.registration_helpers import person


def _part(html: str, start: str, end: str) -> str:
    """The page from ``start`` to ``end`` (included), with the participant's own links (to
    correct their details) taken out: staff have none."""
    found = html[html.index(start):]
    found = found[:found.index(end) + len(end)]
    return re.sub(r"<p><a href=\"[^\"]*/me\">.*?</p>", "", found, flags=re.S)


def test_admins_see_the_facts_of_the_participants_own_page_and_the_read_is_logged(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "zoe@example.org", first_name="Zoé", city="Lyon")
    field_id = factories.custom_field("acme")
    ended = utcnow().replace(microsecond=0) - timedelta(days=40)
    event_id = factories.event("acme")
    factories.registration("acme", event_id, pid)
    with tenants_api.tenant_context("acme") as session:
        event = session.get(Event, event_id)
        event.starts_at, event.ends_at = ended - timedelta(hours=2), ended
        session.add(Answer(participant_id=pid, field_id=field_id, value="Acme <b>SA</b>"))

    own = english(sign_in_participant(app.test_client(), "acme", pid)).get(
        "/t/acme/me/privacy").text
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    page = admin.get(f"/t/acme/admin/participants/{pid}/kept")
    assert page.status_code == 200

    # The table of what is kept, until when and why is the same, cell for cell.
    table = ("<caption class=\"visually-hidden\">How long it is kept</caption>", "</table>")
    assert _part(page.text, *table) == _part(own, *table)
    # So is the data held, from the profile to the consent history.
    held = ("<h3>Profile</h3>", "</section>")
    assert _part(page.text, *held) == _part(own, *held)
    assert "Lyon" in page.text and "Acme &lt;b&gt;SA&lt;/b&gt;" in page.text
    # It says why: a purpose and a legal basis for each kind, and the date the registration
    # (ended 40 days ago) goes under the default 12 months.
    with tenants_api.tenant_context("acme") as session:
        facts = services.privacy_facts(session, session.get(Participant, pid))
    registrations = next(k for k in facts.kept if k.kind == "registrations")
    assert registrations.until is not None
    assert registrations.until.strftime("%Y") in page.text
    assert "Performance of the contract" in page.text and "GDPR art. 6(1)(f)" in page.text

    # The read is in the access log, named as such.
    with tenants_api.tenant_context("acme") as session:
        logged = session.scalars(select(AccessLog).where(
            AccessLog.target == f"participant:{pid}")).all()
    assert [entry.action for entry in logged] == ["participant.kept"]
    assert "Read what is kept about a participant, and why" in admin.get(
        "/t/acme/admin/access-log").text
    # The admin's record of the participant links to it.
    assert f"/t/acme/admin/participants/{pid}/kept" in admin.get(
        f"/t/acme/admin/participants/{pid}").text


def test_only_admins_and_owners_see_it_and_ids_of_no_one_or_of_another_tenant_are_404(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "kept@example.org")
    foreign = person("globex", "other@example.org")
    for role in ("manager", "moderator", "viewer"):
        member = sign_in_member(app.test_client(), "acme", role, in_english=True)
        assert member.get(f"/t/acme/admin/participants/{pid}/kept").status_code == 403
    signed_out = app.test_client().get(f"/t/acme/admin/participants/{pid}/kept")
    assert signed_out.status_code in (302, 303) and "login" in signed_out.headers["Location"]
    owner = sign_in_member(app.test_client(), "acme", "owner", in_english=True)
    assert owner.get(f"/t/acme/admin/participants/{pid}/kept").status_code == 200
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    assert admin.get(f"/t/acme/admin/participants/{pid}/kept").status_code == 200
    assert admin.get("/t/acme/admin/participants/2147483647/kept").status_code == 404
    assert admin.get("/t/acme/admin/participants/99999999999/kept").status_code == 404
    if foreign != pid:
        assert admin.get(f"/t/acme/admin/participants/{foreign}/kept").status_code == 404


def test_every_kind_of_the_retention_matrix_says_why_it_is_kept(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "why@example.org")
    with tenants_api.tenant_context("acme") as session:
        facts = services.privacy_facts(session, session.get(Participant, pid))
    assert set(services.REASONS) >= {kind.key for kind in KINDS}
    assert all(k.purpose and "GDPR art. " in k.basis and k.rule for k in facts.kept)


def test_the_page_is_in_french_by_default(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "fr@example.org")
    admin = sign_in_member(app.test_client(), "acme", "admin")
    page = admin.get(f"/t/acme/admin/participants/{pid}/kept").text
    assert "Base légale" in page and "Exécution du contrat" in page
