"""Flask extensions, created unbound; ``create_app`` binds them."""

from flask import session
from flask_babel import Babel
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


babel = Babel()
csrf = CSRFProtect()
htmx = HTMX()
login_manager = Logins()
