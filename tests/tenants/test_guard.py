"""The sensitive-data guard refuses fields that point at GDPR Art. 9/10 data, and only those."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from tenants.fields import guard
from tenants.fields.guard import CATEGORIES, Finding, explanation, scan, suggestion

REFUSED = [
    # The examples of the issue and of the product rules.
    ("Santé", "health"),
    ("Êtes-vous en bonne santé ?", "health"),
    ("Allergies alimentaires", "health"),
    ("Avez-vous un handicap ?", "health"),
    ("Quelle est votre religion ?", "religion"),
    ("Régime halal / casher", "religion"),
    ("Are you a union member?", "trade_union"),
    ("Political party", "political_opinion"),
    ("Ethnicity", "ethnic_origin"),
    ("HIV status", "health"),
    ("Pregnant?", "health"),
    ("Sexual orientation", "sex_life"),
    ("Casier judiciaire", "criminal"),
    ("Convictions pénales", "criminal"),
    ("Fingerprint", "biometric"),
    ("DNA test", "genetic"),
    ("Medical conditions", "health"),
    ("Traitement médical", "health"),
    ("Vaccination status", "health"),
    # Case and accents, both ways.
    ("SANTÉ", "health"),
    ("sante", "health"),
    ("Maladie CHRONIQUE", "health"),
    ("Religion pratiquée", "religion"),
    ("GENETIQUE", "genetic"),
    ("Ｓａｎｔé", "health"),  # full-width letters
    ("𝐒𝐚𝐧𝐭é", "health"),  # mathematical bold letters
    ("San\u00adté", "health"),  # a soft hyphen inside the word
    ("Cœliaque ?", "health"),
    ("COELIAC disease", "health"),
    # Plurals and inflections.
    ("Vos maladies", "health"),
    ("Personnes handicapées", "health"),
    ("Handicapé(e) ?", "health"),
    ("Diseases you have had", "health"),
    ("Learning disabilities", "health"),
    ("Are you disabled?", "health"),
    ("Antécédents médicaux", "health"),
    ("Êtes-vous religieux ?", "religion"),
    ("Éducation religieuse", "religion"),
    ("Êtes-vous syndiqué ?", "trade_union"),
    ("Syndiquée", "trade_union"),
    ("Activité syndicale", "trade_union"),
    ("Délégués syndicaux", "trade_union"),
    ("Syndicalisme", "trade_union"),
    ("Origines raciales", "ethnic_origin"),
    ("Juive, musulmane, chrétienne…", "religion"),
    # Phrases, across spaces, punctuation and line breaks.
    ("Extrait de casier\njudiciaire", "criminal"),
    ("Casier-judiciaire", "criminal"),
    ("Votre orientation   sexuelle", "sex_life"),
    ("Quelle est votre origine ethnique ?", "ethnic_origin"),
    ("Groupe sanguin", "health"),
    ("Groupes sanguins", "health"),
    ("Empreintes digitales", "biometric"),
    ("Opinion politique", "political_opinion"),
    ("Parti politique", "political_opinion"),
    ("Criminal record", "criminal"),
    ("Blood-type", "health"),
    ("Trade unions", "trade_union"),
    ("Membre d'un syndicat", "trade_union"),
    ("L\u2019orientation sexuelle", "sex_life"),  # a typographic apostrophe
    ("Reconnaissance faciale", "biometric"),
    ("Intention de vote", "political_opinion"),
    ("Who did you vote for?", "political_opinion"),
    # A phrase decides over the words it contains.
    ("Vos convictions", "religion"),
    ("Convictions religieuses", "religion"),
    ("Convictions politiques", "political_opinion"),
    ("Previous convictions", "criminal"),
    ("Skin colour", "ethnic_origin"),
    ("Sex life", "sex_life"),
    ("Êtes-vous enceinte ?", "health"),
    ("Intolérances alimentaires", "health"),
    ("Test de paternité", "genetic"),
    ("Scan de l'iris", "biometric"),
    ("Garde à vue", "criminal"),
]

ACCEPTED = [
    # Look-alikes: a term must be a whole token, not a part of one.
    "Société",
    "Santa Cruz",
    "Racine",
    "Course",
    "Syndication RSS",
    "Syndic de copropriété",
    "Partie",
    "Parti pris",
    "Politique de confidentialité",
    "Privacy policy",
    "Union européenne",
    "Union sportive",
    "Student union",
    "European Union member states",
    "Heal",
    "Healthcare",
    "Hospitality",
    "Centre hospitalier",
    "Médiateur",
    "Villa Médicis",
    "Transport",
    "Gêne",
    # Ambiguous words that are innocent alone (see the data file's decisions).
    "Traitement",
    "Traitement des données",
    "Vote pour le meilleur exposé",
    "Vote for the best poster",
    "Sexe : homme / femme",
    "Sex",
    "Genre",
    "Gender",
    "Enceinte Bluetooth",
    "Teaching aids",
    "Christian Dupont",
    "Droit pénal",
    "Toute infraction au règlement entraîne l'exclusion",
    "Politiques publiques",
    "Votre opinion sur l'événement",
    "Orientation professionnelle",
    "Nationalité",
    "Pays de résidence",
    # What the guard suggests asking instead.
    "Avez-vous besoin d'un aménagement pour participer ?",
    "Do you need any arrangement to take part?",
    "Régime alimentaire",
    "Végétarien",
    "No preference",
    "Sous-titres",
    "Wheelchair access",
    # Sectors, professions and idioms listed as exceptions.
    "Professionnel de santé ?",
    "Professionnels de santé",
    "Secteur de la santé",
    "Health & Safety officer",
    "Medical devices",
    "Political science",
    "In good faith",
    "Golf handicap",
    "Browser fingerprinting",
    "Criminal law",
    "L'ADN de notre entreprise",
    "Religieuse au chocolat",
]


@pytest.mark.parametrize(("text", "category"), REFUSED)
def test_refused(text: str, category: str) -> None:
    findings = scan([text])
    assert [f.category for f in findings][:1] == [category]
    assert findings[0].text == text


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text: str) -> None:
    assert scan([text]) == []


def test_a_term_in_an_option_is_found_and_named() -> None:
    options = ["Quel repas ?", "Végétarien", "Halal", "Sans préférence"]
    assert scan(options) == [Finding("religion", "halal", "Halal")]


def test_one_finding_per_category_in_the_order_found() -> None:
    texts = ["Maladies", "Religion", "Handicap", "Allergies", "Casier judiciaire"]
    findings = scan(texts)
    assert [(f.category, f.text) for f in findings] == [
        ("health", "Maladies"), ("religion", "Religion"), ("criminal", "Casier judiciaire")]
    assert findings[0].term == "maladie"


def test_texts_are_scanned_separately() -> None:
    # Two options never join into a phrase ("casier" + "judiciaire").
    assert scan(["Casier", "Judiciaire"]) == []
    assert scan(["Casier judiciaire"]) != []


def test_an_exception_only_hides_what_lies_inside_it() -> None:
    findings = scan(["Professionnel de santé : décrivez votre état de santé"])
    assert [f.category for f in findings] == ["health"]


def test_empty_texts_are_skipped() -> None:
    assert scan(["", None, "Prénom"]) == []


def test_a_long_text_is_scanned() -> None:
    text = "Décrivez vos attentes. " * 5000 + "Groupe sanguin"
    assert [f.category for f in scan([text])] == ["health"]


def test_the_vocabulary_covers_every_category_broadly() -> None:
    data = json.loads(guard.VOCABULARY_FILE.read_text(encoding="utf-8"))
    assert tuple(data["categories"]) == CATEGORIES
    for category, entries in data["categories"].items():
        count = sum(len(entries[kind]) for kind in ("words", "prefixes", "phrases"))
        assert count >= 15, category
    guard.compile_vocabulary(data)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["categories"]["health"]["words"].append("Santé"), "repeats"),
    (lambda d: d["categories"]["religion"]["words"].append("casier judiciaire"), "one token"),
    (lambda d: d["categories"]["criminal"]["phrases"].append("casier"), "two tokens"),
    (lambda d: d["categories"].pop("genetic"), "categories"),
])
def test_a_mistake_in_the_data_file_is_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(guard.VOCABULARY_FILE.read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(ValueError, match=message):
        guard.compile_vocabulary(data)


@pytest.mark.parametrize("category", CATEGORIES)
def test_explanation_and_suggestion(ctx: Flask, category: str) -> None:
    why, instead = explanation(category), suggestion(category)
    assert type(why) is str and type(instead) is str
    assert why and instead and why != instead
    assert ("10" if category == "criminal" else "9") in why  # the GDPR article


def test_an_unknown_category_has_no_text() -> None:
    with pytest.raises(KeyError):
        explanation("weather")
