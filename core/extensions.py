"""Flask extensions, created unbound; ``create_app`` binds them."""

from functools import cached_property

from babel import Locale
from babel.support import NullTranslations
from flask import session
from flask.globals import _cv_app
from flask_babel import Babel, Domain
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect


class Logins(LoginManager):
    """Flask-Login, except that a visitor whose session holds no user id is nobody at once.

    Flask-Login loads the user on the first use of ``current_user`` (a hook, a template), and
    that load runs session protection first: a SHA-512 of the client's address and browser, and
    a write of ``_fresh`` into the session. Without ``_user_id`` there is nobody to load (this
    application issues no remember-me cookie and has no request or header loader), so anonymous
    requests do none of it.
    """

    def _load_user(self) -> None:
        if "_user_id" not in session:
            return self._update_request_context_with_user()
        return super()._load_user()


def chosen_locale() -> Locale | None:
    """The locale Flask-Babel chose for this context, read in one look-up (it keeps it in
    ``g._flask_babel``, where ``force_locale`` swaps it for the time of a render); None before
    it has chosen, or outside any context."""
    context = _cv_app.get(None)  # the context itself, not the ``g`` proxy: asked dozens of times
    state = context.g.__dict__.get("_flask_babel") if context is not None else None
    return getattr(state, "babel_locale", None)


class _Catalogues(Domain):
    """Flask-Babel's message domain, with the catalogue found in one look-up.

    Every ``gettext`` in Python code and every lazy text (form labels, choices, messages)
    asks the domain for its catalogue; Flask-Babel's walks its context three times and names
    the locale as text each time (about 7 µs, dozens of times on a page with a form). The
    catalogue is kept beside the locale Flask-Babel chose for the context (in
    ``g._flask_babel``, where ``force_locale`` swaps the locale for the time of a render), and
    served while that locale is the one chosen.
    """

    def get_translations(self) -> NullTranslations:
        locale = chosen_locale()
        if locale is None:
            return super().get_translations()
        state = _cv_app.get().g._flask_babel
        kept = getattr(state, "parvis_catalogue", None)
        if kept is not None and kept[0] is locale:
            return kept[1]
        found = super().get_translations()
        state.parvis_catalogue = (locale, found)
        return found


class _Babel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return _Catalogues(domain=self.domain)


babel = _Babel()
csrf = CSRFProtect()
htmx = HTMX()
login_manager = Logins()
