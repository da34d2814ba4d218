"""Flask extensions, created unbound; ``create_app`` binds them."""

from babel.support import NullTranslations
from flask import g, session
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
        state = g.get("_flask_babel") if g else None
        locale = getattr(state, "babel_locale", None)
        if locale is None:  # not chosen yet in this context, or no context
            return super().get_translations()
        kept = getattr(state, "parvis_catalogue", None)
        if kept is not None and kept[0] is locale:
            return kept[1]
        found = super().get_translations()
        state.parvis_catalogue = (locale, found)  # type: ignore[union-attr]
        return found


class _Babel(Babel):
    @property
    def domain_instance(self) -> Domain:
        found = self.__dict__.get("_parvis_domain")
        if found is None:
            found = self.__dict__["_parvis_domain"] = _Catalogues(domain=self.domain)
        return found


babel = _Babel()
csrf = CSRFProtect()
htmx = HTMX()
login_manager = Logins()
