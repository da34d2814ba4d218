"""Links kept per process by ``webapp.app.Parvis.url_for``: the same link as Flask builds, in
every tenant, under every script root; argument-free ones are kept as they are, those whose
arguments are all integers as a pattern, and the others are built each time."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from tests import factories
from webapp.app import STAND_IN


def built(app: Flask, path: str, endpoint: str, script_root: str = "", **values: object) -> str:
    with app.test_request_context(path, base_url=f"http://localhost{script_root}/"):
        app.preprocess_request()  # the tenant pulled from the URL, as a request does
        return url_for(endpoint, **values)


def test_a_tenant_link_names_the_tenant_of_the_request(app: Flask) -> None:
    assert built(app, "/t/acme/", "tenant.events.index") == "/t/acme/"
    assert built(app, "/t/globex/", "tenant.events.index") == "/t/globex/"
    assert built(app, "/t/acme/", "tenant.events.index") == "/t/acme/"


def test_a_link_follows_the_script_root(app: Flask) -> None:
    assert built(app, "/", "site.index") == "/"
    assert built(app, "/", "site.index", script_root="/parvis") == "/parvis/"
    assert built(app, "/", "static", filename="css/parvis.css") == "/static/css/parvis.css"
    assert built(app, "/", "static", script_root="/p",
                 filename="css/parvis.css") == "/p/static/css/parvis.css"
    assert built(app, "/", "static", filename="favicon.svg") == "/static/favicon.svg"


def test_links_with_other_arguments_are_built_each_time(app: Flask) -> None:
    urls = app._urls  # type: ignore[attr-defined]
    urls.clear()
    assert built(app, "/t/acme/", "tenant.participants.index",
                 q="a b&c") == "/t/acme/admin/participants?q=a+b%26c"
    assert built(app, "/t/acme/", "tenant.events.show", event_id=True) == "/t/acme/events/1"
    assert built(app, "/t/acme/", "tenant.events.index", _anchor="top") == "/t/acme/#top"
    assert built(app, "/", "site.index", _external=True) == "http://localhost/"
    assert not urls
    assert built(app, "/t/acme/", "tenant.events.index") == "/t/acme/"
    assert len(urls) == 1


def test_a_text_where_a_number_goes_fails_as_flask_fails(app: Flask) -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            built(app, "/t/acme/", "tenant.events.show", event_id="abc")


def test_links_with_verbatim_texts_are_kept_as_one_pattern(app: Flask) -> None:
    urls = app._urls  # type: ignore[attr-defined]
    urls.clear()
    for view in ("past", "drafts", "a-b_c.d~e", ""):
        assert built(app, "/t/acme/", "tenant.events.admin_index",
                     view=view) == f"/t/acme/admin/events?view={view}"
    assert len(urls) == 1
    assert built(app, "/t/acme/", "tenant.events.admin_index", view="past",
                 page=2) == "/t/acme/admin/events?view=past&page=2"
    assert built(app, "/t/acme/", "tenant.events.admin_index", view="drafts",
                 page=3) == "/t/acme/admin/events?view=drafts&page=3"
    assert len(urls) == 2


def test_links_with_numbers_are_kept_as_one_pattern_per_endpoint(app: Flask) -> None:
    urls = app._urls  # type: ignore[attr-defined]
    urls.clear()
    for event_id in (3, 4, 2147483647, 1837465000):
        assert built(app, "/t/acme/", "tenant.events.show",
                     event_id=event_id) == f"/t/acme/events/{event_id}"
    assert len(urls) == 1
    assert built(app, "/t/globex/", "tenant.events.show", event_id=7) == "/t/globex/events/7"
    assert built(app, "/t/acme/", "tenant.events.show", script_root="/p",
                 event_id=7) == "/p/t/acme/events/7"
    # Numbers in the path and in the query, in either order.
    assert built(app, "/t/acme/", "tenant.registration.roster", event_id=5,
                 page=2) == "/t/acme/admin/events/5/registrations?page=2"
    assert built(app, "/t/acme/", "tenant.registration.roster", page=3,
                 event_id=6) == "/t/acme/admin/events/6/registrations?page=3"
    assert built(app, "/t/acme/", "tenant.events.index", page=12) == "/t/acme/?page=12"
    assert len(urls) == 6


def test_a_link_whose_text_holds_a_stand_in_is_built_each_time(app: Flask) -> None:
    """A tenant slug with the stand-in number's digits: no pattern, the link as Flask makes it."""
    slug = f"club-{STAND_IN}"
    with app.app_context():
        factories.tenant(slug)
    for event_id in (8, 9):
        assert built(app, f"/t/{slug}/", "tenant.events.show",
                     event_id=event_id) == f"/t/{slug}/events/{event_id}"
