"""E-mail: the message type, the ``Mailer`` interface and its backends, and rendering.

Feature code never talks to SMTP. A job builds a ``Message`` with ``render_message`` in the
participant's language and hands it to ``send``, which queues it in the open unit of work: the
e-mail is a ``deliver`` job of the outbox (``core.jobs``), committed with what it is about
(the token its link carries, the status it announces), and sent after the commit by a worker,
outside any transaction, with the job's id as its idempotency key: the ``Message-ID``, and the
outbox file's name. The backend is the one ``PARVIS_MAIL_URL`` names:

- ``outbox`` (default): each e-mail is written as an ``.eml`` file into ``<instance>/outbox/``,
  so the embedded setup needs no mail server and a developer can open what would have been sent;
- ``smtp://``, ``smtp+starttls://``, ``smtps://`` (``user:password@host:port``): a real server.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, g
from flask.logging import default_handler
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from core import jobs

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]
SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("ssl", 465),
}
# Anything that could end a header line (CR, LF and the other control and Unicode line
# separators): a value holding one could smuggle in extra headers or recipients.
_LINE_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII without ":" (RFC 5322 field name)
_MIME_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}")  # RFC 2045 token (subtype, parameter)
# Set from the message itself; an extra header must not replace them.
_RESERVED = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "sender",
             "content-type", "content-transfer-encoding", "mime-version"}


def _check_header(name: str, value: str) -> None:
    if _LINE_BREAK.search(value):
        raise ValueError(f"e-mail header {name!r} contains a line break or control character")


@dataclass(frozen=True)
class Attachment:
    """A text file sent with an e-mail (a calendar invitation): its name, MIME subtype under
    ``text/`` and parameters (``{"method": "REQUEST"}`` for text/calendar). Text only, so the
    outbox stores it as JSON as it is."""

    filename: str
    content: str
    subtype: str = "plain"
    params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_header("attachment filename", self.filename)
        if not _MIME_TOKEN.fullmatch(self.subtype):
            raise ValueError(f"invalid attachment subtype {self.subtype!r}")
        for name, value in self.params.items():
            if not _MIME_TOKEN.fullmatch(name) or not _MIME_TOKEN.fullmatch(value):
                raise ValueError(f"invalid attachment parameter {name!r}")

    def as_args(self) -> dict[str, Any]:
        return {"filename": self.filename, "content": self.content, "subtype": self.subtype,
                "params": dict(self.params)}


@dataclass(frozen=True)
class Message:
    """One e-mail to one bare ASCII address (``someone@example.org``), text and optional HTML.

    Header injection is impossible: a line break or control character in ``to``, ``subject``
    or a header value is a ``ValueError``, and so is an extra header that would replace one set
    here or add a recipient (such as ``Bcc``). ``headers`` is for ``List-Unsubscribe``,
    ``Reply-To`` and the like. ``attachments`` are text files (a calendar invitation); the
    outbox stores them as JSON (``as_args``) and gives them back as dicts, made ``Attachment``
    again here.
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attachments", tuple(
            item if isinstance(item, Attachment) else Attachment(**item)
            for item in self.attachments))
        _check_header("To", self.to)
        _check_header("Subject", self.subject)
        # Exactly one address: a list such as "a@x, b@y" would send to several people.
        Address(addr_spec=self.to)
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED:
                raise ValueError(f"invalid extra e-mail header name {name!r}")
            _check_header(name, value)

    def as_args(self) -> dict[str, Any]:
        """The message as the outbox stores it (JSON); no ``attachments`` key when there are
        none, so rows queued before attachments existed read the same."""
        args: dict[str, Any] = {"to": self.to, "subject": self.subject, "text": self.text,
                                "html": self.html, "headers": dict(self.headers)}
        if self.attachments:
            args["attachments"] = [item.as_args() for item in self.attachments]
        return args


class Mailer(Protocol):
    def send(self, message: Message, key: str | None = None) -> None: ...


def build_email(message: Message, sender: str, key: str | None = None) -> EmailMessage:
    """The MIME message every backend sends: text/plain, or multipart/alternative with HTML,
    inside multipart/mixed with the attachments when there are any.

    ``key`` (the delivery job's id) makes the ``Message-ID``: a delivery repeated after a crash
    carries the same one, which mail clients and archives take as the same message."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    # An explicit domain: the default would look the host name up in the DNS for every e-mail.
    domain = _domain(sender)
    email["Message-ID"] = f"<{key}@{domain}>" if key else make_msgid(domain=domain)
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.text, cte=_transfer_encoding(message.text))
    if message.html is not None:
        email.add_alternative(message.html, subtype="html",
                              cte=_transfer_encoding(message.html))
    for item in message.attachments:
        email.add_attachment(item.content, subtype=item.subtype, filename=item.filename,
                             params=dict(item.params), cte=_transfer_encoding(item.content))
    return email


def _transfer_encoding(body: str) -> str:
    # Left to itself the library picks base64 once a line passes 78 characters (a link often
    # does), which is unreadable in an outbox file. 8bit, its own choice for shorter lines,
    # keeps the text as written up to RFC 5322's limit of 998 bytes a line.
    if all(len(line.encode()) <= 998 for line in body.splitlines()):
        return "8bit"
    return "quoted-printable"


def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2]


def _tls_context() -> ssl.SSLContext:
    # Verifies the certificate and host name, which smtplib's own default context does not.
    return ssl.create_default_context()


class SMTPMailer:
    """Delivery through an SMTP server; one connection per e-mail (each job sends one)."""

    def __init__(self, host: str, port: int, username: str, password: str, security: Security,
                 sender: str, timeout: float) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.security, self.sender, self.timeout = security, sender, timeout

    def send(self, message: Message, key: str | None = None) -> None:
        email = build_email(message, self.sender, key)
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                  context=_tls_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                # Raises when the server does not offer STARTTLS: never falls back to clear text.
                smtp.starttls(context=_tls_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(email)


class OutboxMailer:
    """The embedded backend: each e-mail becomes an ``.eml`` file a mail client can open.

    A delivery's file is named by its key (time-ordered), created exclusively: a delivery
    repeated after a crash finds its file there and writes nothing, so each e-mail is written
    exactly once."""

    _sequence = itertools.count()

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory, self.sender = directory, sender

    def send(self, message: Message, key: str | None = None) -> None:
        email = build_email(message, self.sender, key)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Sortable by time; the counter keeps names unique within a process, "x" mode across them.
        name = key or f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{next(self._sequence):06d}"
        path = self.directory / f"{name}.eml"
        # Written aside, then linked in place: the name appears only with the whole message, and
        # linking fails if it exists (a repeated delivery).
        partial = path.with_suffix(f".{secrets.token_hex(8)}.part")
        partial.write_bytes(bytes(email))
        try:
            os.link(partial, path)
        except FileExistsError:
            log.info("e-mail %s was already written to %s", name, path)
            return
        finally:
            partial.unlink()
        log.info("e-mail to %s, subject %r, written to %s", message.to, message.subject, path)


def mailer_from_config(config: Mapping[str, Any]) -> Mailer:
    """The backend ``MAIL_URL`` names; a ``ValueError`` says what is wrong with the settings."""
    sender = config["MAIL_FROM"]
    if _LINE_BREAK.search(sender) or "@" not in parseaddr(sender)[1]:
        raise ValueError(f"PARVIS_MAIL_FROM is not an e-mail address: {sender!r}")
    url = config["MAIL_URL"]
    if url == "outbox":
        return OutboxMailer(Path(config["INSTANCE_PATH"]) / "outbox", sender)
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        # Only the scheme is quoted back: the URL may hold a password.
        raise ValueError(f"PARVIS_MAIL_URL: unknown scheme {parts.scheme!r}; use outbox, "
                         "smtp://host:port, smtp+starttls://user:password@host:587 or "
                         "smtps://user:password@host:465")
    security, default_port = SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("PARVIS_MAIL_URL: the port is not a number") from None
    if not parts.hostname:
        raise ValueError("PARVIS_MAIL_URL: the server host name is missing")
    return SMTPMailer(parts.hostname, port, unquote(parts.username or ""),
                      unquote(parts.password or ""), security, sender,
                      float(config["MAIL_TIMEOUT"]))


def init_app(app: Flask) -> None:
    app.extensions["parvis_mailer"] = backend = mailer_from_config(app.config)
    if isinstance(backend, OutboxMailer) and not logging.getLogger().handlers:
        # Logging is not configured (``flask run``), yet the outbox's line per e-mail is how a
        # developer finds the file: show it on stderr like Flask's own messages.
        log.addHandler(default_handler)
        log.setLevel(logging.INFO)


def mailer() -> Mailer:
    """The current application's mailer."""
    return current_app.extensions["parvis_mailer"]


def send(message: Message) -> None:
    """Queue ``message`` in the open unit of work: it is sent once that commits (at least once,
    never if it rolls back)."""
    jobs.enqueue(deliver, message.as_args())


@jobs.effect(formerly=("webapp.mail:deliver",))  # its name until it moved to core
def deliver(message: dict[str, Any], *, key: str) -> None:
    """Send a queued e-mail (run by the outbox, outside any transaction)."""
    mailer().send(Message(**message), key=key)


def _tenant_name() -> str | None:
    """The organisation an e-mail is sent for, named in its signature: the request's tenant,
    else the active tenant context's (a job), from the registry."""
    tenant = g.get("tenant")
    if tenant is not None:
        return tenant.name
    slug = jobs.active_tenant()
    if slug is None:
        return None
    info = jobs.tenant_info(slug)
    return info.name if info is not None else None


def render_message(to: str, template: str, language: str, *,
                   headers: dict[str, str] | None = None,
                   attachments: tuple[Attachment, ...] = (), **context: Any) -> Message:
    """Render ``<template>.txt`` (required) and ``<template>.html`` (optional) in ``language``.

    The subject is the ``subject`` block of the text template. Templates extend
    ``email/layout.txt`` and ``email/layout.html``; the HTML one is autoescaped like every
    ``.html`` template, the text one is plain text and so is not escaped.
    """
    app = current_app
    if language not in app.config["LANGUAGES"]:
        raise ValueError(f"no e-mails in language {language!r}")
    env = app.jinja_env
    text_template = env.get_template(f"{template}.txt")
    if "subject" not in text_template.blocks:
        raise ValueError(f"{template}.txt has no subject block")
    try:
        html_template = env.get_template(f"{template}.html")
    except TemplateNotFound:
        html_template = None
    context.setdefault("tenant_name", _tenant_name())
    with force_locale(language):
        app.update_template_context(context)
        blocks = text_template.blocks["subject"](text_template.new_context(context))
        subject = " ".join("".join(blocks).split())
        text = text_template.render(context)
        html = html_template.render(context) if html_template is not None else None
    return Message(to=to, subject=subject, text=text, html=html, headers=dict(headers or {}),
                   attachments=attachments)
