"""Demo data for the embedded setup (``flask demo``): a registration form and a few events.

Used only by the demo command; it goes through the same services as the application so the
demo shows what real data looks like (seats taken, a waiting list, an approval queue, and a
past event with attendance recorded and a few ratings, which the demo participant can rate).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from core.clock import utcnow
from tenants.events.models import Event
from tenants.fields.models import CustomField, StandardField
from tenants.participants import services as participants
from tenants.participants.models import Participant
from tenants.ratings import services as ratings
from tenants.registration import services as registrations
from tenants.registration.models import Registration


def _fields(db: Session) -> None:
    db.add_all([StandardField(key="first_name", mode="required"),
                StandardField(key="last_name", mode="required"),
                StandardField(key="city", mode="optional"),
                StandardField(key="job_function", mode="optional")])
    company = CustomField(
        type="text", position=1, label={"fr": "Organisation", "en": "Organisation"},
        purpose={"fr": "Adapter les exemples à votre secteur",
                 "en": "Tailor the examples to your sector"})
    heard = CustomField(
        type="choice", position=2, required=True,
        label={"fr": "Comment avez-vous connu nos ateliers ?",
               "en": "How did you hear about our workshops?"},
        purpose={"fr": "Mesurer nos canaux de communication",
                 "en": "Measure our communication channels"},
        options=[{"key": "news", "label": {"fr": "Lettre d'information", "en": "Newsletter"}},
                 {"key": "friend", "label": {"fr": "Bouche à oreille", "en": "Word of mouth"}},
                 {"key": "other", "label": {"fr": "Autre", "en": "Other"}}])
    db.add_all([company, heard])
    db.flush()
    db.add(CustomField(
        type="text", position=3, label={"fr": "Précisez", "en": "Please specify"},
        purpose={"fr": "Mesurer nos canaux de communication",
                 "en": "Measure our communication channels"},
        condition_field_id=heard.id, condition_value="other"))


def _event(db: Session, days: int, title: dict, description: dict, **values: object) -> Event:
    start = (utcnow() + timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)
    event = Event(title=title, description=description, starts_at=start,
                  ends_at=start + timedelta(hours=1, minutes=30), timezone="Europe/Paris",
                  status="published", join_url="https://visio.example.org/salle/demo",
                  **values)
    db.add(event)
    db.flush()
    return event


def seed(db: Session, people: list[tuple[str, str, str]], password: str) -> None:
    """Fill an empty demo tenant; every participant signs in with ``password``."""
    _fields(db)
    people_rows: list[Participant] = []
    for first, last, city in people:
        email = f"{first}.{last}@example.org".lower()
        for accented, plain in (("é", "e"), ("è", "e"), ("ï", "i"), ("ë", "e")):
            email = email.replace(accented, plain)
        person = participants.add(db, email=email, password=password, first_name=first,
                                  last_name=last, city=city)
        person.email_confirmed_at = utcnow()
        people_rows.append(person)
    db.flush()
    intro = _event(db, 7, {"fr": "Découvrir le RGPD en 90 minutes",
                           "en": "GDPR in 90 minutes"},
                   {"fr": "Les bases pour les associations : registre, droits, durées.",
                    "en": "The basics for associations: records, rights, retention."},
                   capacity=30)
    small = _event(db, 14, {"fr": "Atelier : rédiger sa politique de confidentialité",
                            "en": "Workshop: writing your privacy policy"},
                   {"fr": "Atelier pratique en petit groupe.",
                    "en": "A hands-on workshop in a small group."},
                   capacity=5)
    _event(db, 21, {"fr": "Table ronde : cookies et mesure d'audience",
                    "en": "Round table: cookies and audience measurement"},
           {"fr": "Inscription validée par l'équipe.", "en": "Registrations are reviewed."},
           capacity=50, approval="manual")
    for person in people_rows[:12]:
        registrations.register(db, intro, person)
    for person in people_rows[12:19]:  # 5 seats: two people wait
        registrations.register(db, small, person)
    _past_event(db, people_rows)


def _past_event(db: Session, people: list[Participant]) -> None:
    """An event three days ago: registrations made before it (past registration cannot go
    through the services, which refuse an ended event), attendance recorded for most, six
    star ratings (enough for the average to show). The demo participant (the last one)
    attended and has not rated yet: "Rate this event" waits on their "My registrations"."""
    past = _event(db, -3, {"fr": "Webinaire : répondre aux demandes d'accès",
                           "en": "Webinar: answering access requests"},
                  {"fr": "Délais, vérification d'identité, contenu de la réponse.",
                   "en": "Deadlines, identity checks, what the answer holds."},
                  capacity=40)
    guests = [*people[:10], people[-1]]
    made = past.starts_at - timedelta(days=10)
    rows = [Registration(event_id=past.id, participant_id=person.id, status="confirmed",
                         created_at=made, confirmed_at=made) for person in guests]
    db.add_all(rows)
    past.seats_taken = len(rows)
    db.flush()
    registrations.mark_attended(db, past, [r.id for r in rows if r.participant_id not in
                                           {people[8].id, people[9].id}], True)
    for person, stars in zip(people[:6], (5, 4, 5, 3, 4, 5), strict=True):
        ratings.rate(db, past, person, stars, "")
