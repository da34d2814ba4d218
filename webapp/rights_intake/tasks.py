"""Jobs the request pages queue: the e-mailed code, and the forwarding once it is verified.

The code travels in the job's arguments only until sent (the outbox empties them); the table
holds its keyed hash. The forwarding runs after the answer page is sent, so that page takes as
long and says the same whether the address is known in no tenant or in many.
"""

from __future__ import annotations

from flask import current_app

from core import email_codes, mail
from core.jobs import task
from core.web.urls import external_url
from webapp import db
from webapp.rights_intake import services
from webapp.rights_intake.forms import KIND_LABELS
from webapp.rights_intake.models import PlatformRightsRequest


@task()
def send_code(request_id: int, code: str) -> bool:
    """The tenants' code e-mail, word for word, pointing at the platform's page."""
    request = db.session().get(PlatformRightsRequest, request_id)
    if request is None or request.status != "unverified":
        return False
    language = request.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    mail.send(mail.render_message(
        request.email, "rights/email/code", language, request=request, kind_labels=KIND_LABELS,
        code=code, minutes=int(email_codes.CODE_LIFETIME.total_seconds() // 60),
        request_url=external_url("rights_intake.verify", token=request.token)))
    return True


@task()
def forward(request_id: int) -> int:
    """Forward a verified request to the tenants concerned; how many there were."""
    session = db.session()
    request = session.get(PlatformRightsRequest, request_id)
    if request is None:
        return 0
    return len(services.forward(session, request))
