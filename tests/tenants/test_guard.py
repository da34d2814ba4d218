"""The sensitive-data guard: refuses fields that point at GDPR Art. 9/10 data or a national
identification number, warns about meal and accessibility questions, accepts the rest; each
finding quotes the words found as the author wrote them."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from tenants.fields import guard
from tenants.fields.guard import (
    ACCEPT,
    CATEGORIES,
    REFUSE,
    WARN,
    WARNINGS,
    Finding,
    explanation,
    scan,
    suggestion,
    verdict,
)

# The verdict on labels as admins type them, in French and English, with the words found
# (the first finding of that verdict) as the messages quote them.
VERDICTS = [
    # Refused: beliefs asked without naming a religion.
    ("Quelle est votre religion ?", REFUSE, "religion"),
    ("Religion", REFUSE, "Religion"),
    ("Êtes-vous croyant ?", REFUSE, "croyant"),
    ("Êtes-vous croyante ou non-croyante ?", REFUSE, "croyante"),
    ("Are you a believer?", REFUSE, "believer"),
    ("Do you believe in God?", REFUSE, "believe in God"),
    ("Croyez-vous en Dieu ?", REFUSE, "Croyez-vous en Dieu"),
    ("Êtes-vous musulman ?", REFUSE, "musulman"),
    ("Kosher meal, as you are Jewish?", REFUSE, "Jewish"),
    ("Repas halal pendant le ramadan ?", REFUSE, "ramadan"),
    # Refused: a vote or a party.
    ("Pour quel parti votez-vous ?", REFUSE, "Pour quel parti"),
    ("Quel est votre parti ?", REFUSE, "votre parti"),
    ("Which party do you vote for?", REFUSE, "party do you vote"),
    ("What party do you support?", REFUSE, "party do you support"),
    ("Pour qui avez-vous voté ?", REFUSE, "Pour qui avez-vous voté"),
    ("How did you vote at the last election?", REFUSE, "How did you vote"),
    ("Political party", REFUSE, "Political"),
    # Refused: a national identification number.
    ("Numéro de sécurité sociale", REFUSE, "Numéro de sécurité sociale"),
    ("N° de sécurité sociale (NIR)", REFUSE, "N° de sécurité sociale"),
    ("NIR", REFUSE, "NIR"),
    ("Numéro de carte Vitale", REFUSE, "carte Vitale"),
    ("Numéro de sécu", REFUSE, "Numéro de sécu"),
    ("Social security number", REFUSE, "Social security number"),
    ("National insurance number", REFUSE, "National insurance number"),
    ("Your SSN", REFUSE, "SSN"),
    # Refused: the other special categories, quoted as written.
    ("Race", REFUSE, "Race"),
    ("Quelle est votre race ?", REFUSE, "race"),
    ("Origine ETHNIQUE", REFUSE, "ETHNIQUE"),
    ("Santé", REFUSE, "Santé"),
    ("Êtes-vous en bonne santé ?", REFUSE, "santé"),
    ("Are you deaf?", REFUSE, "deaf"),
    ("Extrait de casier\njudiciaire", REFUSE, "casier judiciaire"),
    ("Membre d'un syndicat", REFUSE, "syndicat"),
    ("L\u2019orientation sexuelle", REFUSE, "sexuelle"),
    ("Groupe sanguin", REFUSE, "Groupe sanguin"),
    ("Religious beliefs", REFUSE, "Religious"),
    # Warned: meals that may reveal a religion, needed for catering.
    ("Repas halal", WARN, "halal"),
    ("Halal", WARN, "Halal"),
    ("Menu casher", WARN, "casher"),
    ("Kosher meal", WARN, "Kosher"),
    ("Halal / kosher / vegetarian", WARN, "Halal"),
    ("Repas sans porc", WARN, "sans porc"),
    # Warned, with a purpose: accessibility needs, health-adjacent.
    ("Fauteuil roulant", WARN, "Fauteuil roulant"),
    ("Venez-vous en fauteuil roulant ?", WARN, "fauteuil roulant"),
    ("Wheelchair access", WARN, "Wheelchair"),
    ("Do you use a wheelchair?", WARN, "wheelchair"),
    ("Interprète en langue des signes (LSF)", WARN, "langue des signes"),
    ("Sign-language interpreter", WARN, "Sign-language interpreter"),
    ("Besoins d'accessibilité", WARN, "accessibilité"),
    ("Accessibility needs", WARN, "Accessibility"),
    ("Personne à mobilité réduite", WARN, "mobilité réduite"),
    ("Venez-vous avec un chien guide ?", WARN, "chien guide"),
    # Accepted: the other meaning of a word, and ordinary questions.
    ("Race de votre chien", ACCEPT, None),
    ("Quelle est la race de votre chat ?", ACCEPT, None),
    ("Chien de race ?", ACCEPT, None),
    ("Race des chevaux de l'élevage", ACCEPT, None),
    ("What race is your horse?", ACCEPT, None),
    ("Race distance: 5 km or 10 km", ACCEPT, None),
    ("Code INSEE de votre commune", ACCEPT, None),
    ("Régime de sécurité sociale", ACCEPT, None),
    ("Vote pour le meilleur exposé", ACCEPT, None),
    ("Vote for the best poster", ACCEPT, None),
    ("Which party will you attend: the gala or the cocktail?", ACCEPT, None),
    ("Parti pris", ACCEPT, None),
    ("Accessibilité numérique : votre niveau", ACCEPT, None),
    ("Régime alimentaire", ACCEPT, None),
    ("Végétarien", ACCEPT, None),
    ("Avez-vous besoin d'un aménagement pour participer ?", ACCEPT, None),
    ("Do you need any arrangement to take part?", ACCEPT, None),
    ("Sous-titres", ACCEPT, None),
    ("Combien de fois par an ?", ACCEPT, None),
    ("Hôtel-Dieu ou Pitié-Salpêtrière ?", ACCEPT, None),
    ("Société", ACCEPT, None),
]

REFUSED = [
    # The examples of the issue and of the product rules.
    ("Santé", "health"),
    ("Êtes-vous en bonne santé ?", "health"),
    ("Allergies alimentaires", "health"),
    ("Avez-vous un handicap ?", "health"),
    ("Quelle est votre religion ?", "religion"),
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


def test_the_verdict_table_is_broad() -> None:
    assert len(VERDICTS) >= 60
    assert {expected for _text, expected, _word in VERDICTS} == {REFUSE, WARN, ACCEPT}


@pytest.mark.parametrize(("text", "expected", "word"), VERDICTS)
def test_verdict(text: str, expected: str, word: str | None) -> None:
    findings = scan([text])
    assert verdict(findings) == expected
    if word is not None:
        first = next(f for f in findings if f.verdict == expected)
        assert (first.word, first.text) == (word, text)


@pytest.mark.parametrize(("text", "category"), REFUSED)
def test_refused(text: str, category: str) -> None:
    findings = scan([text])
    assert [f.category for f in findings][:1] == [category]
    assert findings[0].text == text
    assert verdict(findings) == REFUSE


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text: str) -> None:
    assert scan([text]) == []


def test_a_term_in_an_option_is_found_and_named() -> None:
    options = ["Vous êtes", "Athée", "Musulmane", "Sans réponse"]
    assert scan(options) == [Finding("religion", "athée", "Athée", "Athée")]
    meals = ["Quel repas ?", "Végétarien", "Halal", "Sans préférence"]
    assert scan(meals) == [Finding("meal", "halal", "Halal", "Halal")]


@pytest.mark.parametrize(("text", "word"), [
    ("Quelle est votre RELIGION ?", "RELIGION"),  # the author's capitals, not the entry's
    ("Êtes-vous religieux ?", "religieux"),  # the whole word, not the stem "religi"
    ("Des  Convictions\t religieuses", "Convictions religieuses"),  # spaces folded
    ("Ｓａｎｔé", "Ｓａｎｔé"),  # full-width letters
    ("Votre e\u0301tat de sante\u0301 ?", "sante\u0301"),  # decomposed accents
    ("Cœliaque ?", "Cœliaque"),
    ("Numéro de Sécurité-Sociale", "Numéro de Sécurité-Sociale"),
])
def test_the_word_found_is_quoted_as_written(text: str, word: str) -> None:
    assert [f.word for f in scan([text])][:1] == [word]


def test_whole_text_says_whether_the_word_is_the_whole_text() -> None:
    assert [f.whole_text for f in scan(["Religion", "Santé ?", "Votre race"])] == [
        True, True, False]


def test_a_refusal_wins_over_a_warning_in_any_order() -> None:
    findings = scan(["Repas halal", "Êtes-vous musulman ?"])
    assert [(f.category, f.verdict) for f in findings] == [("meal", WARN), ("religion", REFUSE)]
    assert verdict(findings) == REFUSE
    assert verdict([]) == ACCEPT


def test_the_other_meaning_needs_its_context_nearby() -> None:
    assert scan(["Race de votre chien"]) == []
    # Too far from the animal, or in another text: the word keeps its meaning.
    far = ("Quelle est votre race ? Nous demandons aussi, pour l'accueil, si vous venez avec "
           "un chien")
    assert [f.word for f in scan([far])] == ["race"]
    assert [f.category for f in scan(["Race", "Chien"])] == ["ethnic_origin"]


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
    assert tuple(data["warnings"]) == WARNINGS
    for category, entries in data["categories"].items():
        count = sum(len(entries[kind]) for kind in ("words", "prefixes", "phrases"))
        assert count >= 15, category
    for warning, entries in data["warnings"].items():
        assert sum(len(entries[kind]) for kind in ("words", "prefixes", "phrases")) >= 5, warning
    guard.compile_vocabulary(data)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["categories"]["health"]["words"].append("Santé"), "repeats"),
    (lambda d: d["categories"]["religion"]["words"].append("casier judiciaire"), "one token"),
    (lambda d: d["categories"]["criminal"]["phrases"].append("casier"), "two tokens"),
    (lambda d: d["categories"].pop("genetic"), "categories"),
    (lambda d: d["warnings"].pop("meal"), "warnings"),
    (lambda d: d["categories"]["religion"]["words"].append("Halal"), "repeats"),
    (lambda d: d["other_meanings"].append({"words": ["chien"], "near": ["race"]}),
     "not a word of the vocabulary"),
    (lambda d: d["other_meanings"].append({"words": ["race"], "near": []}), "near words"),
])
def test_a_mistake_in_the_data_file_is_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(guard.VOCABULARY_FILE.read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(ValueError, match=message):
        guard.compile_vocabulary(data)


@pytest.mark.parametrize("category", CATEGORIES + WARNINGS)
def test_explanation_and_suggestion(ctx: Flask, category: str) -> None:
    why, instead = explanation(category), suggestion(category)
    assert type(why) is str and type(instead) is str
    assert why and instead and why != instead
    article = {"criminal": "10", "national_id": "87"}.get(category, "9")
    assert article in why  # the GDPR article


def test_the_national_id_refusal_cites_the_french_rule(ctx: Flask) -> None:
    assert "2019-341" in explanation("national_id") and "NIR" in explanation("national_id")


def test_an_unknown_category_has_no_text() -> None:
    with pytest.raises(KeyError):
        explanation("weather")
