"""E-mails to the sender of a rights request, sent by jobs after the request's commit.

These go out even to a participant who restricted processing: they are the answer to the right
being exercised (art. 12), not processing of it. The verification code travels in the job's
arguments only until sent; the table holds its keyed hash.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from core import email_codes, mail
from core.jobs import tenant_task
from core.web.urls import external_url
from tenants.db import session
from tenants.rights import services
from tenants.rights.forms import KIND_LABELS


def _send(slug: str, request_id: int, template: str, **context: Any) -> bool:
    """An e-mail about the request, in the requester's language (not the staff member's)."""
    request = services.get(session(), request_id)
    if request is None:
        return False
    language = request.language
    if language is None or language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    mail.send(mail.render_message(
        request.email, f"rights/email/{template}", language, request=request,
        kind_labels=KIND_LABELS, due=services.due_on(request),
        request_url=external_url("tenant.rights.verify", tenant=slug, request_id=request_id),
        **context))
    return True


@tenant_task()
def send_code(slug: str, request_id: int, code: str) -> bool:
    return _send(slug, request_id, "code", code=code,
                 minutes=int(email_codes.CODE_LIFETIME.total_seconds() // 60))


@tenant_task()
def send_extension(slug: str, request_id: int) -> bool:
    return _send(slug, request_id, "extended")


@tenant_task()
def send_completed(slug: str, request_id: int, token: str | None) -> bool:
    link = (external_url("tenant.rights.answer_download", tenant=slug, request_id=request_id,
                         token=token) if token else None)
    return _send(slug, request_id, "completed", download_url=link,
                 days=services.DOWNLOAD_LIFETIME.days)
