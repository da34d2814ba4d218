"""Links kept per process by ``webapp.app.Parvis.url_for``: the same link as Flask builds, in
every tenant, under every script root, and only the argument-free ones are kept."""

from __future__ import annotations

from flask import Flask, url_for


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


def test_links_with_arguments_are_built_each_time(app: Flask) -> None:
    urls = app._urls  # type: ignore[attr-defined]
    urls.clear()
    assert built(app, "/t/acme/", "tenant.events.show", event_id=3) == "/t/acme/events/3"
    assert built(app, "/t/acme/", "tenant.events.show", event_id=4) == "/t/acme/events/4"
    assert built(app, "/t/acme/", "tenant.events.index", _anchor="top") == "/t/acme/#top"
    assert built(app, "/", "site.index", _external=True) == "http://localhost/"
    assert not urls
    assert built(app, "/t/acme/", "tenant.events.index") == "/t/acme/"
    assert len(urls) == 1
