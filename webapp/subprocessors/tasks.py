"""Jobs: e-mails to tenant owners about a sub-processor change, sent after the commit.

``inform_owners`` fans out one job per owner account, so a failing address is retried alone.
A job re-reads the change and the account: a change deleted or an owner deactivated meanwhile
sends nothing.
"""

from __future__ import annotations

from flask import current_app

from core import mail
from core.jobs import enqueue, task
from core.web.urls import external_url
from webapp import db
from webapp.auth.models import Account
from webapp.subprocessors import services
from webapp.subprocessors.models import SubProcessorChange


@task()
def inform_owners(change_id: int) -> int:
    """Queue the e-mail to every owner; returns how many were queued."""
    owners = services.owners_to_inform(db.session())
    for account_id in owners:
        enqueue(email_owner, change_id, account_id)
    return len(owners)


@task()
def email_owner(change_id: int, account_id: int) -> bool:
    session = db.session()
    change = session.get(SubProcessorChange, change_id)
    account = session.get(Account, account_id)
    tenants = services.owners_to_inform(session, account_id).get(account_id, [])
    if change is None or account is None or not tenants:
        return False
    language = account.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    links = [(t.name, external_url("subprocessors.changes", slug=t.slug)) for t in tenants]
    mail.send(mail.render_message(
        account.email, "subprocessors/email/change", language, change=change,
        entry=change.sub_processor, links=links,
        public_list=external_url("subprocessors.public")))
    return True
