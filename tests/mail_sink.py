"""A local SMTP server for tests: it accepts every e-mail and keeps it for assertions.

Apps under test send to it through the real ``SMTPMailer`` (``MAIL_URL = sink.url``), so the
SMTP conversation, MIME structure and encodings are exercised as in production.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

_URL = re.compile(r"https?://[^\s<>\"']+")


class _BoundController(Controller):
    """Serves on a socket bound beforehand, so the port is known and never raced for."""

    def __init__(self, handler: Any, sock: socket.socket, **smtp_options: Any) -> None:
        host, port = sock.getsockname()
        # A fixed host name: the default one is looked up in the DNS.
        super().__init__(handler, hostname=host, port=port, server_hostname="parvis-test-sink",
                         **smtp_options)
        self._sock = sock

    def _create_server(self):  # type: ignore[no-untyped-def]
        # aiosmtpd's documented extension point; it must serve _factory_invoker.
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SMTPSink:
    """An SMTP server on 127.0.0.1 collecting the e-mails it receives, in arrival order.

    With ``login=(user, password)`` it offers AUTH (without TLS: tests only) and accepts only
    those credentials.
    """

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self._received: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller: _BoundController | None = None
        self._login = login
        self.port = 0

    @property
    def url(self) -> str:
        assert self._controller is not None, "the SMTP sink is not started"
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = _BoundController(self, sock, **(auth if self._login else {}))
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        # handled=False: on a failure aiosmtpd answers "535 credentials invalid" itself.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == self._login, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's handler hook, run in the server's thread for each e-mail."""
        # Lines end in CRLF on the wire and in "\n" in Python's e-mail objects.
        content = envelope.content.replace(b"\r\n", b"\n")
        message = email.message_from_bytes(content, policy=email.policy.default)
        with self._arrived:
            self._received.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        """A snapshot of the e-mails received so far."""
        with self._arrived:
            return list(self._received)

    def clear(self) -> None:
        with self._arrived:
            self._received.clear()

    def wait_for(self, predicate: Callable[[EmailMessage], bool],
                 timeout: float = 5) -> EmailMessage:
        """The first e-mail matching ``predicate``, waiting up to ``timeout`` s for it to arrive."""
        found: list[EmailMessage] = []

        def arrived() -> bool:
            found[:] = [m for m in self._received if predicate(m)][:1]
            return bool(found)

        with self._arrived:
            if not self._arrived.wait_for(arrived, timeout):
                subjects = [m["Subject"] for m in self._received]
                raise AssertionError(f"no matching e-mail within {timeout} s; got {subjects}")
        return found[0]

    @staticmethod
    def text(message: EmailMessage) -> str:
        """The plain-text body."""
        part = message.get_body(("plain",))
        assert part is not None, "the e-mail has no text/plain part"
        return part.get_content()

    @classmethod
    def links(cls, message: EmailMessage) -> list[str]:
        """The http(s) URLs in the plain-text body, in order (a sentence's final dot excluded)."""
        return [url.rstrip(".,;:!?)") for url in _URL.findall(cls.text(message))]
