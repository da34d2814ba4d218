"""Jobs of the ratings feature: telling an author why their review was hidden.

The job re-reads the rating: if it is no longer hidden or its author was erased meanwhile,
nothing is sent.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from core import mail
from core.jobs import tenant_task
from core.web.urls import external_url
from tenants.db import current_slug, session
from tenants.events.models import Event
from tenants.events.wording import event_when
from tenants.participants.models import Participant
from tenants.ratings.models import Rating
from tenants.rights.models import is_restricted
from tenants.settings import services as settings
from tenants.texts import pick


@tenant_task()
def send_hidden_email(slug: str, rating_id: int) -> bool:
    """E-mail the author of a hidden review the moderator's reason."""

    row = session().execute(
        select(Rating, Participant, Event)
        .join(Participant, Participant.id == Rating.participant_id)
        .join(Event, Event.id == Rating.event_id)
        .where(Rating.id == rating_id, Rating.status == "hidden")).first()
    if row is None or not row[1].is_active:  # a deactivated account is not written to
        return False
    rating, participant, event = row
    if is_restricted(session(), participant.id):  # art. 18: nothing but storage
        return False
    language = participant.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    tenant = current_slug()
    mail.send(mail.render_message(
        participant.email, "ratings/email/hidden", language, participant=participant,
        rating=rating, event=event, event_when=event_when,
        title=pick(event.title, language, settings.languages(session())[0]),
        event_url=external_url("tenant.events.show", tenant=tenant, event_id=event.id),
        policy_url=external_url("tenant.ratings.policy", tenant=tenant)))
    return True
