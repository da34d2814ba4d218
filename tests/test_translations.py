"""The translation gate: a current template, a complete French catalog, catalogs that compile.

The commands that fix each failure are in translations/README.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from tests import factories

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
# The extract command of translations/README.md, without its output file.
EXTRACT = ["extract", "-F", "translations/babel.cfg", "-k", "_l", "-k", "lazy_gettext",
           "-k", "lazy_pgettext:1c,2", "--no-location", "--sort-output", "--project=Parvis"]
REFRESH = (f".venv/bin/pybabel {' '.join(EXTRACT)} -o translations/messages.pot . && "
           ".venv/bin/pybabel update -i translations/messages.pot -d translations "
           "--ignore-obsolete")
# printf-style directives, and a lone "%" (which would break formatting) as its own item.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|%")

Key = tuple[str | None, str | tuple[str, ...]]


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def keys(catalog: Catalog) -> set[Key]:
    """(context, msgid) of every message; a plural msgid is the tuple (singular, plural)."""
    return {(m.context, m.id) for m in catalog if m.id}


def messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def forms(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def compare(expected: set[Key], actual: set[Key], what: str) -> list[str]:
    problems = [f"missing from {what}: {key!r}" for key in sorted(expected - actual, key=repr)]
    problems += [f"not in the source but in {what}: {key!r}"
                 for key in sorted(actual - expected, key=repr)]
    return problems


def test_template_matches_the_source(tmp_path: Path) -> None:
    extracted = tmp_path / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(extracted), "."]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)  # noqa: S603 (fixed args)
    problems = compare(keys(load(extracted)), keys(load(POT)), "translations/messages.pot")
    assert not problems, "\n".join([*problems, f"The template is stale; run: {REFRESH}"])


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_catalog_is_in_step_with_the_template(locale: str) -> None:
    catalog = load(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    problems = compare(keys(load(POT)), keys(catalog), f"the {locale} catalog")
    problems += [f"obsolete entry: {msgid!r}" for msgid in catalog.obsolete]
    problems += [f"fuzzy entry: {m.id!r}" for m in messages(catalog) if m.fuzzy]
    if catalog.fuzzy:
        problems.append("the catalog header is marked fuzzy")
    # English may leave msgstr empty: the msgid is the English text.
    for m in messages(catalog):
        if locale == "fr" and not all(forms(m)):
            problems.append(f"untranslated: {m.id!r}")
        if m.pluralizable and len(forms(m)) != catalog.num_plurals:
            problems.append(f"{len(forms(m))} plural forms, expected {catalog.num_plurals}: "
                            f"{m.id!r}")
    assert not problems, "\n".join([*problems, f"Fix translations/{locale}/LC_MESSAGES/"
                                    "messages.po (see translations/README.md)."])


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_catalog_compiles_with_matching_placeholders(locale: str) -> None:
    catalog = load(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    problems = [f"{m.id!r}: {error}" for m, errors in catalog.check() for error in errors]
    for m in messages(catalog):
        # Compare with the plural msgid: it carries the count even when the singular does not.
        source = m.id[-1] if isinstance(m.id, tuple) else m.id
        for text in filter(None, forms(m)):
            if Counter(PLACEHOLDER.findall(text)) != Counter(PLACEHOLDER.findall(source)):
                problems.append(f"placeholders differ: {source!r} -> {text!r}")
        # Flask-Babel's lazy strings declare themselves safe HTML (LazyString.__html__), so
        # Jinja does not escape them: markup characters would be rendered as markup.
        for text in (*forms(m), *(m.id if isinstance(m.id, tuple) else (m.id,))):
            if set(text) & set("<>&"):
                problems.append(f"markup character in {text!r}: Jinja may not escape it")
    assert not problems, "\n".join(problems)

    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    translations = Translations(compiled)
    # An empty form falls back to the msgid: English needs no copy of its own texts.
    # Both languages use form 0 for n = 1 and form 1 for n = 2.
    for m in messages(catalog):
        if m.pluralizable:
            expected = [text or m.id[form] for form, text in enumerate(m.string)]
            assert [translations.ngettext(*m.id, n) for n in (1, 2)] == expected
        elif m.context:
            assert translations.pgettext(m.context, m.id) == (m.string or m.id)
        else:
            assert translations.gettext(m.id) == (m.string or m.id)


def test_pages_are_french_by_default_and_english_on_request(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/t/acme/").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Aller au contenu" in page
    assert "Skip to content" not in page

    switched = client.post("/language", data={"lang": "en", "next": "/t/acme/"})
    assert switched.status_code == 303
    assert switched.headers["Location"] == "/t/acme/"

    page = client.get("/t/acme/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Skip to content" in page
    assert "Aller au contenu" not in page


def test_plural_and_label_texts_render_in_both_languages(app, client) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.account("ops@parvis.test", operator_role="admin")
    assert factories.login(client, "ops@parvis.test").status_code == 303

    page = client.get("/ops/tenants").get_data(as_text=True)
    assert "Registre des organisations : 2 organisations" in page
    assert ">Active</td>" in page

    client.post("/language", data={"lang": "en"})
    page = client.get("/ops/tenants").get_data(as_text=True)
    assert "Tenant registry: 2 organisations" in page
    assert ">Registre" not in page
