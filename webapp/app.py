"""The composition root: ``create_app`` builds the Flask application.

Rule: this is the only place that wires the ground floor (``core``), the tenant plane and the
control plane together: extensions, blueprints of both planes, the job queue's planes.
Nothing imports this module but the entry points (``wsgi.py``, tests, benches), so it may import
every feature at the top without making an import circle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from typing import Any, cast
from weakref import WeakKeyDictionary

from flask import Flask, g
from flask.globals import _cv_request
from flask.templating import Environment
from werkzeug.routing import BuildError

from core import jobs, mail
from core.extensions import csrf, htmx, login_manager
from core.web import admission, errors, i18n, security
from tenants import api as tenants_api
from tenants.blueprints import blueprints as tenant_blueprints
from webapp import (
    cli,
    config,
    db,
    outbox,
    sweeps,  # noqa: F401 -- registers the periodic tasks and the sweep's listener
    tenancy,
)
from webapp.auth.views import bp as auth_bp
from webapp.billing import views as billing_views
from webapp.breaches.views import bp as breaches_bp
from webapp.catalogue.views import bp as catalogue_bp
from webapp.contract.views import bp as contract_bp
from webapp.dpa.views import bp as dpa_bp
from webapp.members.views import bp as members_bp
from webapp.members.views import invitations_bp
from webapp.organisations.views import bp as organisations_bp
from webapp.registers.views import bp as registers_bp
from webapp.retention.views import bp as platform_retention_bp
from webapp.rights_intake.views import bp as rights_intake_bp
from webapp.signup.views import bp as signup_bp
from webapp.subprocessors.views import bp as subprocessors_bp
from webapp.support.views import bp as support_bp
from webapp.web.views import bp as site_bp

# Links kept by ``Parvis.url_for``, per process: the layout's links and the lists' link
# patterns of every tenant (a few dozen each) and static files; past this many, new ones are
# built each time.
MAX_KEPT_URLS = 50_000


class _Templates(Environment):
    """Flask's Jinja environment, with a template's globals copied at C speed on each render.

    Jinja gives each template its globals as a ``ChainMap`` over the environment's (so that
    globals given to one template only would not leak into the others), and each render copies
    that map into a dict: through ``ChainMap``'s Python-level iteration, three calls per global
    (about 280 calls a page here). No template here gets globals of its own, so a template's
    globals are the environment's dict itself, as Jinja's documentation allows ("it may be
    shared with the environment"), and the copy is ``dict``'s own; templates given globals of
    their own still get a ``ChainMap``.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return self.globals if not d else super().make_globals(d)


class Parvis(Flask):
    """Flask, without the per-request work whose answer never changes.

    * ``jinja_environment``: see ``_Templates``.
    * ``ensure_sync``: Flask passes every hook and view through it, and it inspects the
      function to tell ``async def`` from ``def``: a dozen times per request. The answer is
      kept, weakly: a function made for one request (``after_this_request``) does not stay.
    * ``url_for``: a page's layout builds the same twenty links on every request (navigation,
      static files), each through the URL defaults (the tenant's slug) and werkzeug's rule:
      a tenth of a page's time. A link asked in a request with no value but a static file's
      name, for an absolute endpoint and a relative URL, depends only on the endpoint, that
      name, the tenant the defaults add (tenant pages) and the script root: it is kept under
      those. A link whose values are all integers (ids, page numbers: a list's fifty rows
      each link to their own) or texts werkzeug writes as they are (a tab's name) is kept as a
      pattern under the same key and the values' names and types: built once with stand-ins,
      then each link is the pattern with the values put in, as werkzeug writes them.
    """

    jinja_environment = _Templates

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: WeakKeyDictionary[Callable[..., Any], Callable[..., Any]] = (
            WeakKeyDictionary())
        self._urls: dict[tuple[object, ...], tuple[str | tuple[str], ...]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced[func] = super().ensure_sync(func)
        return synced

    def url_for(self, endpoint: str, *, _anchor: str | None = None, _method: str | None = None,
                _scheme: str | None = None, _external: bool | None = None,
                **values: Any) -> str:
        context = _cv_request.get(None)
        plain = not (_anchor or _method or _scheme or _external or endpoint[:1] == ".")
        static = _static_file(endpoint, values)
        if context is None or not plain or not (static or all(map(_fits, values.values()))):
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        tenant = g.get("tenant") if endpoint.startswith("tenant.") else None
        key = (endpoint, values["filename"] if static else
               tuple((name, type(value)) for name, value in values.items()),
               tenant.slug if tenant is not None else None, context.request.script_root)
        kept = self._urls.get(key)
        if kept is None:
            kept = (super().url_for(endpoint, **values),) if static else \
                _pattern(super().url_for, endpoint, values)
            if len(self._urls) < MAX_KEPT_URLS:
                self._urls[key] = kept
        if len(kept) == 1:
            return cast(str, kept[0])
        if not kept:  # no pattern for this link
            return super().url_for(endpoint, **values)
        return "".join(piece if isinstance(piece, str) else str(values[piece[0]])
                       for piece in kept)


# Stand-ins: their digits do not occur in a link otherwise (checked for each pattern); a text
# stand-in starts with a letter, so that a rule expecting a number refuses it as it would
# refuse any text.
STAND_IN = 1_837_465_000
# Texts werkzeug writes as they are, in a path and in a query.
_VERBATIM = re.compile(r"[A-Za-z0-9_.~-]*")


def _fits(value: object) -> bool:
    """Whether a link's value can go into a pattern: an integer, or a text werkzeug does not
    quote."""
    return type(value) is int or (type(value) is str and _VERBATIM.fullmatch(value) is not None)


def _pattern(build: Callable[..., str], endpoint: str,
             values: dict[str, Any]) -> tuple[str | tuple[str], ...]:
    """The link ``build`` makes for ``values``, as text pieces and, where each value goes, its
    name (in a 1-tuple); empty if a stand-in is refused or its digits occur more than once."""
    stand_ins = {name: STAND_IN + i if type(value) is int else f"s{STAND_IN + i}"
                 for i, (name, value) in enumerate(values.items())}
    try:
        url = build(endpoint, **stand_ins)
    except (BuildError, ValueError):
        return ()
    marks = {name: str(stand_in) for name, stand_in in stand_ins.items()}
    if any(url.count(mark) != 1 for mark in marks.values()):
        return ()
    pieces: list[str | tuple[str]] = []
    at = 0
    for start, name in sorted((url.index(mark), name) for name, mark in marks.items()):
        pieces += [url[at:start], (name,)]
        at = start + len(marks[name])
    return (*pieces, url[at:])


def _static_file(endpoint: str, values: dict[str, Any]) -> bool:
    return endpoint == "static" and len(values) == 1 and isinstance(values.get("filename"), str)


def create_app(overrides: dict | None = None, *, for_worker: bool = False) -> Flask:
    """Build the application; ``overrides`` replaces settings read from the environment."""

    settings = config.load(overrides)
    app = Parvis(__name__, instance_path=settings["INSTANCE_PATH"],
                static_folder="web/static", template_folder="web/templates")
    app.config.update(settings)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.config["PARVIS_OVERRIDES"] = dict(overrides or {})
    app.extensions["parvis_factory"] = create_app  # what builds an app in a child process

    db.init_app(app)
    jobs.init_app(app, outbox.planes(tenancy.tenant_info, tenancy.tenant_slugs))
    if for_worker:
        return app

    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    i18n.init_app(app, time_zone=tenants_api.time_zone)
    mail.init_app(app)
    errors.init_app(app)
    admission.init_app(app)
    security.init_app(app)

    app.register_blueprint(site_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(organisations_bp)
    # Processor duties: the DPA, sub-processors, registers, the service catalogue; the
    # retention of the platform's own sign-in records.
    for duty_bp in (dpa_bp, subprocessors_bp, registers_bp, catalogue_bp,
                    platform_retention_bp):
        app.register_blueprint(duty_bp)
    # Rights requests sent to Parvis, forwarded to the tenants concerned (processor duty).
    app.register_blueprint(rights_intake_bp)
    app.register_blueprint(breaches_bp)
    app.register_blueprint(support_bp)
    billing_views.init_app(app)
    app.register_blueprint(signup_bp)
    app.register_blueprint(contract_bp)
    tenancy.init_app(app, (*tenant_blueprints(), members_bp))
    cli.init_app(app)
    return app
