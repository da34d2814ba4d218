"""E-mail: SMTP delivery, the outbox backend, header safety, settings and rendering."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader

from core import mail
from core.mail import Message, OutboxMailer, SMTPMailer
from tests.mail_sink import SMTPSink
from webapp import config

SENDER = "Parvis <no-reply@parvis.example>"
LINK = "https://parvis.example/t/acme/confirm/" + "k" * 60  # longer than a 78-column line


def test_smtp_delivers_text_and_html_alternative_in_utf8(ctx: Flask, outbox: SMTPSink) -> None:
    mail.mailer().send(Message(
        to="zoe@example.org",
        subject="Inscription confirmée : « Été numérique »",
        text=f"Bonjour Zoé,\nvotre inscription à « Été numérique » est confirmée.\n{LINK}\n",
        html="<p>Bonjour Zoé, votre inscription est confirmée.</p>",
        headers={"List-Unsubscribe": "<https://parvis.example/t/acme/unsubscribe>"},
    ))

    received = outbox.wait_for(lambda m: m["To"] == "zoe@example.org")
    assert received["Subject"] == "Inscription confirmée : « Été numérique »"
    assert received["From"] == ctx.config["MAIL_FROM"]
    assert received["Message-ID"] and received["Date"]
    assert received["List-Unsubscribe"] == "<https://parvis.example/t/acme/unsubscribe>"
    assert received.get_content_type() == "multipart/alternative"
    assert "Bonjour Zoé,\nvotre inscription à « Été numérique »" in outbox.text(received)
    html = received.get_body(("html",))
    assert html is not None
    assert html.get_content() == "<p>Bonjour Zoé, votre inscription est confirmée.</p>\n"
    assert outbox.links(received) == [LINK]


def test_text_only_message_is_a_single_plain_part(ctx: Flask, outbox: SMTPSink) -> None:
    mail.mailer().send(Message(to="ana@example.org", subject="Hello", text="Plain only."))

    received = outbox.wait_for(lambda m: m["To"] == "ana@example.org")
    assert received.get_content_type() == "text/plain"
    assert received.get_content() == "Plain only.\n"


@pytest.mark.parametrize("fields", [
    {"to": "victim@example.org\r\nBcc: everyone@example.org"},
    {"to": "victim@example.org\nBcc: everyone@example.org"},
    {"to": "one@example.org, two@example.org"},
    {"to": "not an address"},
    {"subject": "Hello\r\nBcc: everyone@example.org"},
    {"subject": "Hello\nX-Injected: yes"},
    {"subject": "Hello\u2028X-Injected: yes"},
    {"subject": "Hello\x00"},
    {"headers": {"List-Unsubscribe": "<https://x.example>\r\nBcc: everyone@example.org"}},
    {"headers": {"X-Evil\r\nBcc": "everyone@example.org"}},
    {"headers": {"X-Evil: yes": "1"}},
    {"headers": {"Bcc": "everyone@example.org"}},
    {"headers": {"from": "boss@example.org"}},
])
def test_header_injection_is_refused(fields: dict) -> None:
    values = {"to": "victim@example.org", "subject": "Hello", "text": "Body", **fields}
    with pytest.raises(ValueError):
        Message(**values)


def test_a_line_break_in_the_body_is_fine() -> None:
    assert Message(to="a@example.org", subject="Hi", text="line 1\r\nline 2\n").text


def test_outbox_writes_one_parsable_eml_per_message(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    outbox = OutboxMailer(tmp_path / "outbox", SENDER)
    with caplog.at_level(logging.INFO, logger="core.mail"):
        outbox.send(Message(to="zoe@example.org", subject="Confirmez votre inscription",
                            text=f"Cliquez :\n{LINK}\n", html="<p>Cliquez</p>"))
        outbox.send(Message(to="zoe@example.org", subject="Second", text="Again"))

    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    raw = files[0].read_bytes()
    assert LINK.encode() in raw  # readable as is: a developer can copy the link from the file
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["From"] == SENDER
    assert parsed["To"] == "zoe@example.org"
    assert parsed["Subject"] == "Confirmez votre inscription"
    assert SMTPSink.links(parsed) == [LINK]  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records if str(files[0]) in r.getMessage()] == [
        f"e-mail to zoe@example.org, subject 'Confirmez votre inscription', written to {files[0]}"
    ]


def test_smtp_login_uses_the_credentials_of_the_url(app: Flask) -> None:
    server = SMTPSink(login=("user@parvis.example", "p@ss:w rd/1"))
    server.start()
    try:
        url = f"smtp://user%40parvis.example:p%40ss%3Aw%20rd%2F1@127.0.0.1:{server.port}"
        good = mail.mailer_from_config({**app.config, "MAIL_URL": url})
        good.send(Message(to="a@example.org", subject="Logged in", text="Hi"))
        assert server.wait_for(lambda m: m["Subject"] == "Logged in")

        wrong = SMTPMailer("127.0.0.1", server.port, "user@parvis.example", "guess", "none",
                           SENDER, 5)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            wrong.send(Message(to="a@example.org", subject="Intruder", text="Hi"))
        assert [m["Subject"] for m in server.messages] == ["Logged in"]
    finally:
        server.stop()


def test_starttls_never_falls_back_to_clear_text(outbox: SMTPSink) -> None:
    # The sink offers no STARTTLS: the mailer must refuse rather than send unencrypted.
    mailer = SMTPMailer("127.0.0.1", outbox.port, "", "", "starttls", SENDER, 5)
    with pytest.raises(smtplib.SMTPNotSupportedError):
        mailer.send(Message(to="a@example.org", subject="Secret", text="Hi"))
    assert outbox.messages == []


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, "", "", "none")),
    ("smtp://mail.example", ("mail.example", 25, "", "", "none")),
    ("smtp+starttls://me%40x.example:s%3Ac%2Fr%40t@mail.example:587",
     ("mail.example", 587, "me@x.example", "s:c/r@t", "starttls")),
    ("smtp+starttls://me:pw@mail.example", ("mail.example", 587, "me", "pw", "starttls")),
    ("smtps://me:pw@mail.example", ("mail.example", 465, "me", "pw", "ssl")),
    ("smtps://me:pw@mail.example:2465", ("mail.example", 2465, "me", "pw", "ssl")),
])
def test_mail_url_selects_the_smtp_server(url: str, expected: tuple) -> None:
    mailer = mail.mailer_from_config({"MAIL_URL": url, "MAIL_FROM": SENDER, "MAIL_TIMEOUT": 3,
                                      "INSTANCE_PATH": "/unused"})
    assert isinstance(mailer, SMTPMailer)
    assert (mailer.host, mailer.port, mailer.username, mailer.password,
            mailer.security) == expected
    assert (mailer.sender, mailer.timeout) == (SENDER, 3)


def test_outbox_is_the_default_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARVIS_MAIL_URL", raising=False)
    monkeypatch.delenv("PARVIS_MAIL_FROM", raising=False)
    settings = config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    mailer = mail.mailer_from_config(settings)
    assert isinstance(mailer, OutboxMailer)
    assert mailer.directory == tmp_path / "outbox"
    assert mailer.sender == "Parvis <no-reply@localhost>"


@pytest.mark.parametrize(("settings", "error"), [
    ({"MAIL_URL": "smtpx://me:hunter2@mail.example"}, "unknown scheme 'smtpx'"),
    ({"MAIL_URL": "http://me:hunter2@mail.example"}, "unknown scheme 'http'"),
    ({"MAIL_URL": "mail.example:25"}, "unknown scheme"),
    ({"MAIL_URL": "smtp://me:hunter2@:25"}, "host name is missing"),
    ({"MAIL_URL": "smtp://me:hunter2@mail.example:port"}, "port is not a number"),
    ({"MAIL_FROM": "Parvis"}, "PARVIS_MAIL_FROM"),
    ({"MAIL_FROM": "Parvis <a@b.example>\r\nBcc: x@y.example"}, "PARVIS_MAIL_FROM"),
])
def test_bad_mail_settings_fail_at_config_load(tmp_path: Path, settings: dict,
                                               error: str) -> None:
    with pytest.raises(ValueError, match=error) as raised:
        config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", **settings})
    assert "hunter2" not in str(raised.value)


# Templates of a pretend feature e-mail, extending the shared layouts like real ones do.
TEMPLATES = {
    "test_email/invite.txt": """{% extends "email/layout.txt" %}
{% block subject %}
  {{ _("Sign in") }}:
  {{ title }}
{% endblock %}
{% block content %}{{ title }} — {{ day|dateformat("long") }}
{{ link }}{% endblock %}""",
    "test_email/invite.html": """{% extends "email/layout.html" %}
{% block content %}<h1>{{ title }}</h1><p>{{ _("Sign in") }}</p>{% endblock %}""",
    "test_email/text_only.txt": """{% extends "email/layout.txt" %}
{% block subject %}Text only{% endblock %}{% block content %}Just text.{% endblock %}""",
    "test_email/no_subject.txt": """{% extends "email/layout.txt" %}
{% block content %}Forgot the subject.{% endblock %}""",
}


@pytest.fixture
def templates(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    loader = ChoiceLoader([DictLoader(TEMPLATES), ctx.jinja_env.loader])  # type: ignore[list-item]
    monkeypatch.setattr(ctx.jinja_env, "loader", loader)
    yield ctx


def _invite(language: str, **context: object) -> Message:
    values = {"title": "Atelier", "day": date(2025, 3, 12), "link": LINK,
              "tenant_name": "Acme", **context}
    return mail.render_message("zoe@example.org", "test_email/invite", language,
                               headers={"List-Unsubscribe": "<https://x.example/u>"}, **values)


def test_render_message_in_french(templates: Flask) -> None:
    message = _invite("fr")
    assert message.to == "zoe@example.org"
    assert message.subject == "Se connecter: Atelier"  # whitespace of the block collapsed
    assert message.text.startswith(f"Atelier — 12 mars 2025\n{LINK}\n\n-- \n")
    assert message.html is not None
    assert '<html lang="fr">' in message.html
    assert "<h1>Atelier</h1><p>Se connecter</p>" in message.html
    assert message.headers == {"List-Unsubscribe": "<https://x.example/u>"}


def test_render_message_in_english(templates: Flask) -> None:
    message = _invite("en")
    assert message.subject == "Sign in: Atelier"
    assert message.text == (f"Atelier — March 12, 2025\n{LINK}\n\n-- \n"
                            "Sent by Parvis on behalf of Acme.")
    assert message.html is not None
    assert '<html lang="en">' in message.html
    assert "<p>Sign in</p>" in message.html
    assert "Sent by Parvis on behalf of Acme." in message.html


def test_html_is_escaped_and_text_is_verbatim(templates: Flask) -> None:
    hostile = '<script>alert("x")</script> & Co'
    message = _invite("en", title=hostile, tenant_name=hostile)
    assert message.subject == f"Sign in: {hostile}"
    assert message.text.startswith(f"{hostile} — ")
    assert message.text.endswith(f"Sent by Parvis on behalf of {hostile}.")
    assert message.html is not None
    assert "<script>" not in message.html
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co"
    assert f"<h1>{escaped}</h1>" in message.html
    assert f"on behalf of {escaped}." in message.html


def test_render_message_without_html_template_is_text_only(templates: Flask) -> None:
    message = mail.render_message("zoe@example.org", "test_email/text_only", "en")
    assert (message.subject, message.html) == ("Text only", None)
    assert message.text == "Just text.\n\n-- \nSent by Parvis."


@pytest.mark.parametrize(("template", "language", "error"), [
    ("test_email/no_subject", "en", "no subject block"),
    ("test_email/invite", "de", "no e-mails in language 'de'"),
])
def test_render_message_refuses_mistakes(templates: Flask, template: str, language: str,
                                         error: str) -> None:
    with pytest.raises(ValueError, match=error):
        mail.render_message("zoe@example.org", template, language, title="x", day=date(2025, 1, 1))


def test_a_tenants_e_mails_are_signed_with_its_name(templates: Flask) -> None:
    from tenants import api as tenants_api

    values = {"title": "Atelier", "day": date(2025, 3, 12), "link": LINK}
    with tenants_api.tenant_context("acme"):
        message = mail.render_message("zoe@example.org", "test_email/invite", "en", **values)
    assert message.text.endswith("Sent by Parvis on behalf of Acme.")
    outside = mail.render_message("zoe@example.org", "test_email/invite", "en", **values)
    assert outside.text.endswith("Sent by Parvis.")
