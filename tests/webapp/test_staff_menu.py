"""The staff's links in a tenant's menu are rendered once per process for each tenant, role,
language and script root (``webapp.tenancy.staff_menu``): whoever was served before, each member
sees the links of their own role, for their own tenant, in their own language."""

from __future__ import annotations

from flask import Flask

from tests.fixtures.people import english, sign_in_member

PAGE = "/t/{slug}/admin/events"
EVERY_LINK = ("Manage events", "Participants", "Rights requests", "Moderation queue",
              "Registration form", "Settings", "Cookie consent", "Retention", "Access log",
              "Data protection", "Members", "Subscription")
EXPECTED = {
    "owner": set(EVERY_LINK),
    "admin": set(EVERY_LINK),
    "manager": {"Manage events", "Participants", "Rights requests", "Moderation queue"},
    "moderator": {"Manage events", "Participants", "Moderation queue"},
    "viewer": {"Manage events", "Participants"},
}


def links(page: str) -> set[str]:
    return {label for label in EVERY_LINK if f">{label}</a></li>" in page}


def test_each_member_sees_the_links_of_their_role(app: Flask) -> None:
    seen = {}
    for role in ("owner", "viewer", "moderator", "manager", "admin"):  # the owner's menu first
        client = sign_in_member(app.test_client(), "acme", role, in_english=True)
        response = client.get(PAGE.format(slug="acme"))
        assert response.status_code == 200
        seen[role] = links(response.get_data(as_text=True))
    assert seen == EXPECTED


def test_the_links_follow_the_tenant_and_the_language(app: Flask) -> None:
    acme = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    assert 'href="/t/acme/admin/settings">Settings</a>' in acme.get(
        PAGE.format(slug="acme")).get_data(as_text=True)

    globex = sign_in_member(app.test_client(), "globex", "admin")  # French, the default
    page = globex.get(PAGE.format(slug="globex")).get_data(as_text=True)
    assert 'href="/t/globex/admin/settings">Paramètres</a>' in page
    assert "/t/acme/" not in page

    english(globex)
    page = globex.get(PAGE.format(slug="globex")).get_data(as_text=True)
    assert 'href="/t/globex/admin/settings">Settings</a>' in page
