"""The registration journey of issue 3, as new users try it in Chromium, in French and English.

An admin designs the form (a choice, a question shown only for one of its options, and a
"health" field the guard refuses) and publishes an event with one seat and a waiting list. A
participant signs up from the event page, confirms by the e-mailed link, gets the join link by
e-mail only, edits an answer; a second one lands on the waiting list and takes the seat when the
first cancels. E-mails are read from the SMTP sink the live server sends to; every page is
checked for CSP violations, and the key pages with axe-core.

Texts are compared through the translation catalogues, so the assertions hold before and after
the new strings are translated (untranslated, a catalogue gives back the English).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Dialog, Page, expect

from tenants.fields import guard
from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.fixtures.browser import (
    accessibility,
    catalog,
    choose_language,
    member_sign_in,
    on_server,
    shot,
    t,
    tn,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# What the admin types: every tenant text in both languages (French, the default, is required).
CHOICE = {"fr": "Vous participez", "en": "You take part"}
OPTIONS = ({"fr": "À titre personnel", "en": "As an individual"},
           {"fr": "Pour une organisation", "en": "For an organisation"})
ORGANISATION = {"fr": "Nom de l'organisation", "en": "Organisation name"}
PURPOSE = {"fr": "Préparer les groupes de travail", "en": "Prepare the working groups"}
SENSITIVE = {"fr": "Santé", "en": "Health condition"}
TITLE = {"fr": "Atelier inscriptions", "en": "Registration workshop"}
JOIN_URL = "https://video.example.org/room/"  # + a secret per test


IN_CONTEXT = {"Confirmed", "Cancelled", "Refused"}  # registration statuses


# --- setting up the tenant in the live server's database ---------------------------------------


def _seed(settings: dict, slug: str, admin_email: str) -> None:
    """In a child process (an app in the test process would repoint the session's databases):
    a French tenant and an admin member, through the factories."""
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Parcours", language="fr")
        factories.member(slug, admin_email, "admin")
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def seed_tenant(server: LiveServer, slug: str, admin_email: str) -> None:
    in_child(_seed, server.settings, slug, admin_email)


# --- the admin's part --------------------------------------------------------------------------


def add_field(page: Page, language: str, field_type: str, label: dict[str, str],
              *, options: tuple[dict[str, str], ...] = (), condition: str = "",
              required: bool = False) -> None:
    """From the designer, start a field of ``field_type``, fill it in and save it."""
    page.locator("#new-field-type").select_option(field_type)
    page.get_by_role("button", name=t(language, "Add a field"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "New field"))
    for lang, text in label.items():
        page.locator(f"#label-{lang}").fill(text)
    for lang, text in PURPOSE.items():
        page.locator(f"#purpose-{lang}").fill(text)
    for row, option in enumerate(options):
        for lang, text in option.items():
            page.locator(f"#options-{row}-label-{lang}").fill(text)
    if condition:
        value = page.locator("#condition option", has_text=condition).get_attribute("value")
        assert value, f"no condition on {condition!r}"
        page.locator("#condition").select_option(value)
    if required:
        page.locator("#required").check()
    page.get_by_role("button", name=t(language, "Save the field")).click()


def design_form_and_publish_event(page: Page, server: LiveServer, slug: str, admin: str,
                                  language: str, join_url: str, found: list[str]) -> str:
    """Step 1; returns the event page's URL."""
    designer = f"{server.url}/t/{slug}/admin/form"
    member_sign_in(page, designer, admin, language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Registration form"))

    add_field(page, language, "choice", CHOICE, options=OPTIONS, required=True)
    expect(page).to_have_url(re.compile(r"/admin/form(#custom-fields)?$"))
    add_field(page, language, "text", ORGANISATION, condition=OPTIONS[1][language],
              required=True)
    expect(page).to_have_url(re.compile(r"/admin/form(#custom-fields)?$"))
    table = page.locator("#custom-fields table")
    expect(table.locator("caption")).to_have_text(tn(
        language, "%(num)d field, in the order participants see them",
        "%(num)d fields, in the order participants see them", 2))
    expect(table.get_by_role("rowheader")).to_have_text([CHOICE[language],
                                                         ORGANISATION[language]])
    expect(table.get_by_role("row").filter(has_text=ORGANISATION[language])).to_contain_text(
        t(language, "If “%(field)s” is “%(option)s”", field=CHOICE[language],
          option=OPTIONS[1][language]))
    found += accessibility(page, f"{language}-designer")

    # The guard: the field is refused, with why and what to ask instead; nothing is saved.
    sensitive = {"fr": SENSITIVE["fr"]} if language == "fr" else {
        "fr": "Remarque", "en": SENSITIVE["en"]}
    add_field(page, language, "text", sensitive)
    refusal = page.get_by_role("alert", name=t(language, "This field cannot be saved"))
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text(SENSITIVE[language])
    # Lazy texts: outside an app they are the English originals, the catalogue's keys.
    expect(refusal).to_contain_text(t(language, str(guard.explanation("health"))))
    expect(refusal).to_contain_text(t(language, str(guard.suggestion("health"))))
    expect(page).to_have_url(re.compile(r"/admin/form/fields/new\?type=text$"))
    found += accessibility(page, f"{language}-designer-refusal")
    if language == "fr":
        shot(page, "designer-refusal-fr")
    page.get_by_role("link", name=t(language, "Back to the registration form")).click()
    expect(table.get_by_role("rowheader")).to_have_count(2)
    expect(table).not_to_contain_text(SENSITIVE[language])

    # The event: one seat, a waiting list, a join link; created as a draft, then published.
    page.get_by_role("link", name=t(language, "Manage events"), exact=True).click()
    page.get_by_role("link", name=t(language, "New event"), exact=True).click()
    for lang, text in TITLE.items():
        page.locator(f"#title-{lang}").fill(text)
        page.locator(f"#description-{lang}").fill(f"{text} — description")
    day = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=30)).date().isoformat()
    page.locator("#starts_at").fill(f"{day}T18:00")
    page.locator("#ends_at").fill(f"{day}T20:00")
    page.locator("#capacity").fill("1")
    expect(page.locator("#waitlist")).to_be_checked()  # on by default; kept
    page.locator("#join_url").fill(join_url)
    page.get_by_role("button", name=t(language, "Create the event")).click()
    row = page.get_by_role("row").filter(has_text=TITLE[language])
    expect(row).to_contain_text(t(language, "Draft"))
    row.get_by_role("button", name=t(language, "Publish"), exact=True).click()
    page.get_by_role("button", name=t(language, "Yes, publish")).click()
    expect(page).to_have_url(re.compile(r"/admin/events\?view=upcoming$"))
    row = page.get_by_role("row").filter(has_text=TITLE[language])
    expect(row).to_contain_text(t(language, "Published"))
    href = row.get_by_role("link", name=TITLE[language], exact=True).get_attribute("href")
    assert href and re.fullmatch(rf"/t/{slug}/events/\d+", href)
    return f"{server.url}{href}"


# --- the participants' part --------------------------------------------------------------------


@dataclass
class Person:
    email: str
    first_name: str
    organisation: str
    seen: list[str] = field(default_factory=list)  # the HTML of each page they were shown

    def saw(self, page: Page) -> None:
        self.seen.append(page.content())


def sign_up(page: Page, server: LiveServer, sink: SMTPSink, event_url: str, person: Person,
            language: str, found: list[str], *, check: bool) -> None:
    """From the event page to the confirmed address: ends on "My registrations", signed in.
    ``check``: run axe on the event page and the form (and take screenshots in French)."""
    page.goto(event_url)
    choose_language(page, language)
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE[language])
    person.saw(page)
    if check:
        found += accessibility(page, f"{language}-event-page")
        if language == "fr":
            shot(page, "event-page-fr")
    page.get_by_role("link", name=t(language, "Register"), exact=True).click()
    expect(page).to_have_url(f"{event_url}/signup")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t(language, "Register for “%(title)s”", title=TITLE[language]))
    # htmx (a deferred script) listens once the page has loaded: a choice made before that
    # is not sent for the questions to be asked again (the page works as without JavaScript).
    page.wait_for_load_state("load")
    page.locator("#email").fill(person.email)
    page.locator("#first_name").fill(person.first_name)
    page.locator("#last_name").fill("Lefèvre")

    # Without JavaScript every question shows, with its condition in words; with htmx the
    # questions are asked again after each choice, and the conditional one follows the choice.
    organisation = page.get_by_label(ORGANISATION[language], exact=True)
    expect(organisation).to_be_visible()
    page.get_by_label(OPTIONS[0][language], exact=True).check()
    expect(organisation).to_have_count(0)
    page.get_by_label(OPTIONS[1][language], exact=True).check()
    expect(organisation).to_be_visible()
    expect(page.get_by_label(OPTIONS[1][language], exact=True)).to_be_checked()
    expect(page.locator("#first_name")).to_have_value(person.first_name)  # kept by the swap
    organisation.fill(person.organisation)
    person.saw(page)
    if check:
        found += accessibility(page, f"{language}-signup-form")
        if language == "fr":
            shot(page, "signup-form-fr")
    password = f"Un mot de passe {secrets.token_hex(4)}"
    page.locator("#password").fill(password)
    page.locator("#password_confirm").fill(password)
    page.locator("main form.registration-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/signup/check-inbox$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Check your inbox"))
    person.saw(page)

    confirmation = sink.wait_for(lambda m: m["To"] == person.email and m["Subject"] == t(
        language, "Confirm your e-mail address"), timeout=15)
    link = next(url for url in sink.links(confirmation) if "/confirm/" in url)
    page.goto(on_server(server, link))
    expect(page).to_have_url(re.compile(r"/t/[^/]+/me/registrations$"))
    expect(page.locator("main")).to_contain_text(
        t(language, "Your e-mail address is confirmed: welcome!"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    person.saw(page)


def registration_row(page: Page, language: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("row").filter(has_text=TITLE[language])


def expect_status(page: Page, language: str, label: str) -> None:
    """The event's row in "My registrations" shows exactly this status (in French, a few agree
    with "inscription": their own context, as in tenants/registration/forms.py)."""
    texts = catalog(language)
    text = (texts.upgettext("registration", label) if label in IN_CONTEXT
            else texts.ugettext(label))
    expect(registration_row(page, language).locator("td strong")).to_have_text(text)


def email_to(sink: SMTPSink, person: Person, subject: str) -> EmailMessage:
    return sink.wait_for(lambda m: m["To"] == person.email and m["Subject"] == subject,
                         timeout=15)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_registration_journey(pages: Pages, live_server: LiveServer, mail_sink: SMTPSink,
                              language: str):
    slug = f"journey-{language}-{secrets.token_hex(3)}"
    admin_email = f"admin@{slug}.example.org"
    join_url = f"{JOIN_URL}{secrets.token_urlsafe(8)}"
    title = TITLE[language]
    seed_tenant(live_server, slug, admin_email)
    found: list[str] = []  # accessibility violations

    # 1. The admin designs the form and publishes the event.
    event_url = design_form_and_publish_event(pages.open(), live_server, slug, admin_email,
                                              language, join_url, found)

    # 2. A participant signs up, confirms, gets the join link by e-mail only, edits an answer.
    first = Person(f"camille@{slug}.example.org", "Camille", "Les Amis du Parvis")
    camille = pages.open()
    sign_up(camille, live_server, mail_sink, event_url, first, language, found, check=True)
    expect_status(camille, language, "Confirmed")
    found += accessibility(camille, f"{language}-my-registrations")
    confirmed = email_to(mail_sink, first, t(
        language, "Registration confirmed: %(title)s", title=title))
    # The e-mail holds her personal join link, never the meeting address; before the event it
    # opens a page saying when it will work, and does not redirect.
    assert join_url not in SMTPSink.text(confirmed)
    [personal] = [link for link in SMTPSink.links(confirmed) if f"/t/{slug}/join/" in link]
    camille.goto(personal)
    expect(camille.locator("main")).to_contain_text(t(language, "Not open yet"))
    assert join_url not in camille.url
    camille.go_back()

    camille.get_by_role("link", name=t(language, "Edit my registration")).click()
    expect(camille).to_have_url(re.compile(r"/me$"))
    organisation = camille.get_by_label(ORGANISATION[language], exact=True)
    expect(organisation).to_have_value(first.organisation)
    expect(camille.get_by_label(OPTIONS[1][language], exact=True)).to_be_checked()
    organisation.fill("Collectif du Parvis")
    camille.get_by_role("button", name=t(language, "Save"), exact=True).click()
    expect(camille.locator("main")).to_contain_text(t(language, "Your profile is saved."))
    expect(camille.get_by_label(ORGANISATION[language], exact=True)).to_have_value(
        "Collectif du Parvis")
    first.saw(camille)

    # 3. A second participant finds the event full and joins the waiting list.
    second = Person(f"dominique@{slug}.example.org", "Dominique", "Atelier Voisin")
    dominique = pages.open()
    sign_up(dominique, live_server, mail_sink, event_url, second, language, found,
            check=False)
    expect_status(dominique, language, "Waiting list")
    waitlisted = email_to(mail_sink, second, t(
        language, "Waiting list: %(title)s", title=title))
    assert join_url not in SMTPSink.text(waitlisted)

    # 4. The first cancels (after confirming in a dialog); the second takes the seat.
    camille.get_by_role("link", name=t(language, "My registrations"), exact=True).click()
    asked: list[str] = []

    def confirm(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    camille.once("dialog", confirm)
    registration_row(camille, language).locator("form[action$='/cancel'] button").click()
    expect(registration_row(camille, language)).to_contain_text(
        t(language, "Your registration is cancelled."))
    expect_status(camille, language, "Cancelled")
    assert asked == [t(language, "Cancel your registration to %(title)s?", title=title)]
    first.saw(camille)

    promoted = email_to(mail_sink, second, t(
        language, "A seat is free: you are registered to %(title)s", title=title))
    assert join_url not in SMTPSink.text(promoted)
    assert [link for link in SMTPSink.links(promoted) if f"/t/{slug}/join/" in link]
    dominique.reload()
    expect_status(dominique, language, "Confirmed")
    second.saw(dominique)

    # The join link reached both only by e-mail: no page either of them saw holds it.
    for person in (first, second):
        assert not [html for html in person.seen if join_url in html], person.email
    assert found == []
