"""Consent pages: the visitors' choices and cookie policy, the admins' services, banner and
ledger, and the per-response CSP that lets a page load only what its visitor consented to.

The banner itself is rendered by the layout (``consent/_banner.html``) on every tenant page,
through the ``consent_state()`` template global.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from core.db import writes
from core.extensions import htmx
from core.web.errors import error_page
from core.web.htmx import render
from core.web.security import CSP
from core.web.spreadsheet import BOM, csv_line
from tenants import access, db, pagecache
from tenants.audit import services as audit
from tenants.consent import banner as consent_banner
from tenants.consent import ledger as consent_ledger
from tenants.consent import visitor as consent_visitor
from tenants.consent.forms import (
    LOAD_LABELS,
    PURPOSE_HELP,
    PURPOSE_LABELS,
    ChoiceForm,
    LookupForm,
    ServiceForm,
    banner_form,
    banner_texts,
    cookies_text,
)
from tenants.consent.models import ConsentEntry, ConsentService
from tenants.db import tenant_context
from tenants.instructions import services as instructions
from tenants.participants import services as participants
from tenants.settings import services as settings
from tenants.texts import pick

bp = Blueprint("consent", __name__, template_folder="templates")

ID = "int(min=1, max=2147483647)"


# --- template helpers ------------------------------------------------------------------------
# The banner is on every tenant page: its helpers avoid Flask-Babel's and url_for's per-call
# costs, which showed in bench/consent.py's profile of a page with the banner.


def banner_text(key: str, language: str) -> str:
    """The tenant's own banner text in ``language`` ("" for Parvis's wording)."""
    texts = consent_visitor.visitor_state().config.texts.get(key) or {}
    if not any(texts.values()):
        return ""
    return pick(texts, language, settings.languages(db.session())[0])


# The banner's own words, translated once per language (catalogues do not change at run time).
BANNER_WORDS = {
    "title": _l("Your choices about cookies"),
    "body": _l("We and the services listed below would like to use cookies and similar "
               "trackers for the purposes shown. Nothing is set before you agree, refusing is "
               "as easy as accepting, and you can change your mind at any time from the "
               "\u201cCookie settings\u201d link at the bottom of every page."),
    "close": _l("Close and refuse all"), "accept": _l("Accept all"),
    "refuse": _l("Refuse all"), "choose": _l("Choose"),
    "policy": _l("Cookie policy: what each service does, its cookies and where it processes "
                 "data"),
    "load": _l("Load this content"),
    "embed": _l("This content is provided by %(provider)s (%(name)s), which may set cookies. "
                "It is not loaded until you agree."),
    "colon": _l(":"),
    **{f"purpose:{purpose}": label for purpose, label in PURPOSE_LABELS.items()},
}
_words: dict[str, dict[str, str]] = {}


def banner_words(language: str) -> dict[str, str]:
    """``BANNER_WORDS`` in ``language``, the request's language (``current_language``)."""
    found = _words.get(language)
    if found is None:
        found = _words[language] = {key: str(text) for key, text in BANNER_WORDS.items()}
    return found


_urls: dict[tuple[str, str], dict[str, str]] = {}


def consent_urls() -> dict[str, str]:
    """The consent endpoints' URLs for this tenant, built once per tenant and script root."""
    key = (request.script_root, g.tenant.slug)
    found = _urls.get(key)
    if found is None:
        if len(_urls) > 10_000:
            _urls.clear()
        found = _urls[key] = {name: url_for(f"tenant.consent.{name}")
                              for name in ("decide", "settings_page", "policy")}
    return found


# A cached page is kept per consent state (what the banner, scripts and embeds depend on); the
# ledger is not shown on public pages, so a choice keeps everyone else's copies.
pagecache.varies_with(lambda: consent_visitor.visitor_state().cache_key())
pagecache.not_shown(ConsentEntry.__tablename__)

bp.add_app_template_global(consent_visitor.visitor_state, "consent_state")
bp.add_app_template_global(banner_text, "consent_text")
bp.add_app_template_global(consent_urls, "consent_urls")
bp.add_app_template_global(banner_words, "consent_words")
bp.add_app_template_global(lambda purpose: PURPOSE_LABELS[purpose], "purpose_label")
bp.add_app_template_global(lambda purpose: PURPOSE_HELP[purpose], "purpose_help")


@functools.lru_cache(maxsize=512)
def csp_with(scripts: tuple[str, ...], frames: tuple[str, ...]) -> str:
    """The site's CSP, also allowing consented services' origins (scripts may call home and
    show pixels from theirs) and consented embeds' frames."""
    directives = dict(part.split(" ", 1) for part in CSP.split("; "))
    if scripts:
        for name in ("script-src", "connect-src", "img-src"):
            directives[name] = " ".join((directives[name], *scripts))
    if frames:
        directives["frame-src"] = " ".join(frames)
    return "; ".join(f"{name} {value}" for name, value in directives.items())


@bp.after_app_request
def allow_consented_sources(response: Response) -> Response:
    """Runs before the site's security headers (registered later), which keep ours."""
    state = g.get("consent_state")
    if state is not None:
        scripts, frames = state.sources()
        if (scripts or frames) and response.content_type.startswith("text/html"):
            response.headers["Content-Security-Policy"] = csp_with(scripts, frames)
    return response


# --- rate limit ------------------------------------------------------------------------------


class RateLimit:
    """At most ``limit`` consent posts per ``window`` seconds per tenant and client address,
    in this process (the address is only a key in memory, never stored)."""

    def __init__(self, limit: int = 20, window: float = 60.0, max_keys: int = 50_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self.hits: dict[tuple[str, str], deque[float]] = {}
        self.lock = threading.Lock()

    def exceeded(self, key: tuple[str, str]) -> bool:
        now = time.monotonic()
        with self.lock:
            hits = self.hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            hits.append(now)
            self.hits[key] = hits  # re-inserted last: the oldest keys go first
            while len(self.hits) > self.max_keys:
                del self.hits[next(iter(self.hits))]
            return len(hits) > self.limit


rate_limit = RateLimit()


# --- visitors --------------------------------------------------------------------------------


def _next(target: str | None) -> str:
    """A path of this tenant to go back to, else its home page."""
    home = url_for("tenant.events.index")
    prefix = home if home.endswith("/") else home + "/"
    if (target and target.startswith(prefix) and "\\" not in target and "//" not in target
            and target.isprintable()):
        return target
    return home


def _choices(form: ChoiceForm, state: consent_visitor.VisitorState, status: int = 200) -> Response:
    return render("consent/settings.html", block="choices", status=status, form=form,
                  state=state, next=_next(form.next.data))


@bp.get("/cookies")
def settings_page():
    state = consent_visitor.visitor_state()
    form = ChoiceForm(data={"version": state.config.version,
                            "next": _next(request.args.get("next"))}).offer(state.config)
    form.services.data = [str(i) for i in sorted(state.accepted)]
    return _choices(form, state)


@bp.post("/cookies")
@access.exercise_of_rights
def decide():
    if rate_limit.exceeded((g.tenant.slug, request.remote_addr or "")):
        return error_page(429, retry_after=60)
    state = consent_visitor.visitor_state()
    form = ChoiceForm().offer(state.config)
    if (not form.validate() or form.version.data != state.config.version
            or not state.config.optional):
        # A tampered or stale form (the services changed meanwhile), or nothing to consent
        # to: ask again, write nothing.
        fresh = ChoiceForm(formdata=None, data={"version": state.config.version,
                                                "next": _next(form.next.data)})
        fresh.offer(state.config)
        fresh.form_errors.append(_("Your choices could not be saved: the list of services "
                                   "has changed or the form was altered. Please choose "
                                   "again."))
        return _choices(fresh, state, status=422)
    accepted = form.accepted(state.config, state.accepted)
    participant = (participants.current(db.session())
                   if state.config.link_participant else None)
    entry = consent_ledger.record_choice(db.session(), state, accepted,
                                         participant_id=participant.id if participant else None)
    target = _next(form.next.data)
    response = (Response(status=204, headers={"HX-Redirect": target}) if htmx
                else redirect(target, code=303))
    path = url_for("tenant.events.index")
    secure = request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    assert entry.expires_at is not None
    response.set_cookie(consent_visitor.COOKIE, entry.consent_id, expires=entry.expires_at,
                        path=path, httponly=True, samesite="Lax", secure=secure)
    # The withdrawn services' cookies, wherever a script of the page may have set them.
    for name in consent_ledger.cookies_to_delete(state, accepted):
        for cookie_path in ("/", path, path.rstrip("/")):
            response.delete_cookie(name, path=cookie_path, secure=secure, samesite="Lax")
    return response


@bp.get("/cookies/policy")
def policy():
    return render("consent/policy.html", state=consent_visitor.visitor_state(),
                  refusal_months=consent_ledger.REFUSAL_MONTHS)


# --- admins ----------------------------------------------------------------------------------


def _admin_page(form: object, status: int = 200, saved: bool = False) -> Response:
    session = db.session()
    return render("consent/admin.html", block="banner", status=status, form=form, saved=saved,
                  services=consent_banner.list_services(session),
                  row=consent_banner.get_row(session), languages=settings.languages(session),
                  purpose_labels=PURPOSE_LABELS,
                  to_fix=consent_banner.lifetimes_to_fix(session))


@bp.route("/admin/consent", methods=["GET", "POST"])
@access.require_role("admin")
def admin():
    session = db.session()
    languages = settings.languages(session)
    if request.method == "GET":
        row = consent_banner.get_row(session)
        texts = row.texts or {}
        form = banner_form(languages, data={
            "lifetime_months": row.lifetime_months, "retention_years": row.retention_years,
            "link_participant": row.link_participant,
            "title": texts.get("title", {}), "body": texts.get("body", {})})
        return _admin_page(form, saved=request.args.get("saved") == "1")
    form = banner_form(languages)
    if not form.validate():
        return _admin_page(form, status=422)
    consent_banner.update_banner(session, texts=banner_texts(form, languages),
                                 lifetime_months=form.lifetime_months.data,
                                 retention_years=form.retention_years.data,
                                 link_participant=bool(form.link_participant.data))
    instructions.record(session, "consent", _(
        "Changed the cookie banner: consent lasts %(months)d months, proofs kept %(years)d "
        "years, choices tied to accounts: %(linked)s", months=form.lifetime_months.data,
        years=form.retention_years.data,
        linked=_("yes") if form.link_participant.data else _("no")))
    if htmx:
        return _admin_page(form, saved=True)
    return redirect(url_for(".admin", saved=1), code=303)


def _service_page(form: ServiceForm, service: ConsentService | None,
                  status: int = 200) -> Response:
    return render("consent/service.html", block="form", status=status, form=form,
                  service=service)


def _service_or_404(service_id: int) -> ConsentService:
    """One of the tenant's own services: a catalogue one is managed on the services page."""
    service = db.session().get(ConsentService, service_id)
    if service is None or service.catalogue_id is not None:
        abort(404)
    return service


def _saved() -> BaseResponse:
    target = url_for(".admin")
    if htmx:
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


@bp.route("/admin/consent/services/new", methods=["GET", "POST"])
@access.require_role("admin")
def service_new():
    form = ServiceForm()
    if not form.is_submitted():
        return _service_page(form, None)
    if not form.validate():
        return _service_page(form, None, status=422)
    service = consent_banner.save_service(db.session(), None, **form.values())
    instructions.record(db.session(), "services", _(
        "Added the service %(name)s (%(provider)s, %(location)s)", name=service.name,
        provider=service.provider, location=service.location))
    return _saved()


@bp.route(f"/admin/consent/services/<{ID}:service_id>/edit", methods=["GET", "POST"])
@access.require_role("admin")
def service_edit(service_id: int):
    service = _service_or_404(service_id)
    if request.method == "GET":
        form = ServiceForm(obj=service)
        form.cookies.data = cookies_text(service.cookies or [])
        return _service_page(form, service)
    form = ServiceForm()
    if not form.validate():
        return _service_page(form, service, status=422)
    consent_banner.save_service(db.session(), service, **form.values())
    instructions.record(db.session(), "services", _(
        "Changed the service %(name)s (%(provider)s, %(location)s)", name=service.name,
        provider=service.provider, location=service.location))
    return _saved()


@bp.post(f"/admin/consent/services/<{ID}:service_id>/delete")
@access.require_role("admin")
def service_delete(service_id: int):
    service = _service_or_404(service_id)
    consent_banner.delete_service(db.session(), service)
    instructions.record(db.session(), "services", _(
        "Removed the service %(name)s (%(provider)s)", name=service.name,
        provider=service.provider))
    return _saved()


@bp.get("/admin/consent/ledger")
@writes  # the read is logged
@access.require_role("admin")
def ledger():
    form = LookupForm(request.args)
    entries: list[ConsentEntry] | None = None
    if "consent_id" in request.args and form.validate():
        entries = consent_ledger.chain(db.session(), form.consent_id.data.strip())
        audit.record(db.session(), member_id=access.member_id(), action="consent_lookup",
                     target="consent_ledger")
    names = {s.id: s.name for s in consent_banner.list_services(db.session())}
    return render("consent/ledger.html", block="results", form=form, entries=entries,
                  describe=functools.partial(describe, names))


def describe(names: dict[int, str], entry: ConsentEntry) -> str:
    """An entry's choices in words (for the lookup page and the export)."""
    if entry.kind == "registration":
        choices = entry.choices
        words = _("privacy notice %(privacy)s; terms %(terms)s; marketing: %(marketing)s",
                  privacy=choices.get("privacy", ""), terms=choices.get("terms", ""),
                  marketing=_("yes") if choices.get("marketing") else _("no"))
        change = choices.get("change")  # a change of the news opt-in (ledger.record_marketing)
        if change == consent_ledger.MARKETING_WITHDRAWN:
            words += " — " + _("news opt-in withdrawn")
        elif change == consent_ledger.MARKETING_GIVEN:
            words += " — " + _("news opt-in given")
        return words
    parts = []
    for key, accepted in sorted(entry.choices.items(), key=lambda item: int(item[0])):
        name = names.get(int(key)) or _("removed service #%(id)s", id=key)
        parts.append(_("%(name)s: accepted", name=name) if accepted
                     else _("%(name)s: refused", name=name))
    return "; ".join(parts) or _("nothing to choose")


BATCH = 1000


def _export(slug: str) -> Iterator[str]:
    """The ledger in its own unit of work (a streamed body outlives the request's)."""

    with tenant_context(slug) as session:
        names = {s.id: s.name for s in consent_banner.list_services(session)}
        yield BOM + csv_line([_("Consent id"), _("First consent id of this visitor"),
                               _("Kind"), _("Recorded at (UTC)"), _("Expires at (UTC)"),
                               _("Banner version"), _("Hash of the banner texts"),
                               _("Participant id"), _("Choices")])
        result = session.scalars(select(ConsentEntry).order_by(ConsentEntry.id)
                                 .execution_options(yield_per=BATCH))
        for batch in result.partitions():
            yield "".join(csv_line([
                e.consent_id, e.chain_id, e.kind, e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                e.expires_at.strftime("%Y-%m-%d %H:%M:%S") if e.expires_at else "",
                str(e.version), e.texts_hash,
                str(e.participant_id) if e.participant_id is not None else "",
                describe(names, e)]) for e in batch)


@bp.get("/admin/consent/ledger.csv")
@writes  # the read is logged
@access.require_role("admin")
def ledger_csv():
    audit.record(db.session(), member_id=access.member_id(), action="consent_ledger_export",
                 target="consent_ledger")
    return Response(stream_with_context(_export(g.tenant.slug)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="consent-ledger.csv"'})


# Labels the templates need.
bp.add_app_template_global(lambda kind: LOAD_LABELS[kind], "load_label")
