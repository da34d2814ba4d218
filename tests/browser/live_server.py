"""The demo application served over HTTP in a child process, for the browser tests.

A child process, not a thread: the control engine and the tenant plane are configured
process-wide by ``create_app``, so a second application in the test process would repoint the
session ``app`` fixture's databases.
"""

from __future__ import annotations

import contextlib
import re
import threading
from multiprocessing.connection import Connection

from werkzeug.serving import WSGIRequestHandler, make_server

OWNER_LOGIN = re.compile(r"tenant owner\s*:\s*(\S+@\S+) / (\S+)")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        """No access log; errors are still printed."""


def serve(settings: dict, conn: Connection) -> None:
    """Set up the demo the way ``flask demo`` does, report the port and logins, then serve.

    Sends ``("ready", port, owner_email, owner_password)`` or ``("error", text)`` on ``conn``;
    anything received on ``conn`` (or the parent going away) stops the server.
    """
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():  # as ``flask`` itself provides for commands
        result = app.test_cli_runner().invoke(args=["demo"])
    owner = OWNER_LOGIN.search(result.output)
    if result.exit_code != 0 or owner is None:
        conn.send(("error", f"flask demo failed ({result.exit_code}):\n{result.output}"
                            f"\n{result.exception!r}"))
        return
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    # Links in e-mails, Stripe's return addresses and the fake Stripe use the real address.
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.port}"
    conn.send(("ready", server.port, owner.group(1), owner.group(2)))

    def stop_when_told() -> None:
        with contextlib.suppress(EOFError):  # EOF: the test process went away
            conn.recv()
        server.shutdown()

    threading.Thread(target=stop_when_told, daemon=True).start()
    server.serve_forever()
    server.server_close()
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
