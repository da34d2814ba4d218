"""The sensitive-data guard: custom fields may not ask for GDPR Art. 9 or Art. 10 data.

A field's label, help text and options, in every language, are scanned against the vocabulary
in ``sensitive_terms.json`` (its ``_comment`` documents the format and the decisions on
ambiguous words). Texts and entries are normalised the same way, so capitals, accents,
ligatures, plurals and punctuation inside a phrase do not hide a term, while matching whole
tokens keeps "Société" or "racine" from looking like "santé" or "race".

The guard is a safeguard against honest mistakes, not a filter a determined author cannot get
round (look-alike letters from other scripts, for example, are not folded).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

CATEGORIES: tuple[str, ...] = (
    "health", "religion", "political_opinion", "trade_union", "ethnic_origin", "sex_life",
    "genetic", "biometric", "criminal",
)

VOCABULARY_FILE = Path(__file__).with_name("sensitive_terms.json")

_EXPLANATIONS = {
    "health": _l("This field would collect data concerning health (an illness, a disability, "
                 "allergies, a pregnancy, a treatment or a vaccination). Health data is a special "
                 "category of personal data under Art. 9 of the GDPR, which registration forms "
                 "do not collect."),
    "religion": _l("This field would reveal religious or philosophical beliefs, a special "
                   "category of personal data under Art. 9 of the GDPR, which registration "
                   "forms do not collect."),
    "political_opinion": _l("This field would reveal political opinions, a special category of "
                            "personal data under Art. 9 of the GDPR, which registration forms "
                            "do not collect."),
    "trade_union": _l("This field would reveal trade-union membership, a special category of "
                      "personal data under Art. 9 of the GDPR, which registration forms do not "
                      "collect."),
    "ethnic_origin": _l("This field would reveal racial or ethnic origin, a special category of "
                        "personal data under Art. 9 of the GDPR, which registration forms do "
                        "not collect."),
    "sex_life": _l("This field would reveal a person's sex life or sexual orientation, a special "
                   "category of personal data under Art. 9 of the GDPR, which registration "
                   "forms do not collect."),
    "genetic": _l("This field would collect genetic data (such as DNA or the results of a "
                  "genetic test), a special category of personal data under Art. 9 of the "
                  "GDPR, which registration forms do not collect."),
    "biometric": _l("This field would collect biometric data that identifies a person (such as "
                    "fingerprints or face recognition), a special category of personal data "
                    "under Art. 9 of the GDPR, which registration forms do not collect."),
    "criminal": _l("This field would collect data about criminal convictions and offences. "
                   "Art. 10 of the GDPR reserves such data to official authorities, so "
                   "registration forms do not collect it."),
}

_SUGGESTIONS = {
    "health": _l("Ask whether the person needs any arrangement to take part (for example "
                 "captions, a sign-language interpreter or breaks), without asking why."),
    "religion": _l("If you need it to plan meals, offer meal choices such as \"vegetarian\" or "
                   "\"no preference\" without naming a religion; otherwise, do not ask."),
    "political_opinion": _l("Do not ask. If you need to know whom a person represents, ask for "
                            "their organisation or their role."),
    "trade_union": _l("Do not ask. If you need to know whom a person represents, ask for their "
                      "organisation or their role."),
    "ethnic_origin": _l("Do not ask. If you need it for interpreting or logistics, ask for a "
                        "preferred language or a country of residence instead."),
    "sex_life": _l("Do not ask. If you need to address people correctly, offer an optional "
                   "form of address chosen by the person."),
    "genetic": _l("Do not ask: registering to an event never requires genetic data."),
    "biometric": _l("Do not ask: participants are identified by their account and e-mail "
                    "address, never by biometric data."),
    "criminal": _l("Do not ask: checking criminal records is for the authorities, and "
                   "registering to an event never requires it."),
}


@dataclass(frozen=True)
class Finding:
    category: str  # one of CATEGORIES
    term: str  # the vocabulary entry that matched, as written in the data file
    text: str  # the author's text in which it was found, as written


def scan(texts: Iterable[str | None]) -> list[Finding]:
    """Every sensitive category the texts point at: at most one finding per category, in the
    order found. Texts are scanned separately, so two options never combine into a phrase."""
    vocabulary = _vocabulary()
    findings: dict[str, Finding] = {}
    for text in texts:
        if not text:
            continue
        for category, term in vocabulary.matches(_tokens(text)):
            if category not in findings:
                findings[category] = Finding(category, term, text)
    return list(findings.values())


def explanation(category: str) -> str:
    """Why a field in ``category`` is refused, in the current language."""
    return str(_EXPLANATIONS[category])


def suggestion(category: str) -> str:
    """What to ask instead of a field in ``category``, in the current language."""
    return str(_SUGGESTIONS[category])


# Letters that carry no accent to strip: the decomposition leaves them whole.
_SPELLED_OUT = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
                              "þ": "th", "\u0131": "i"})  # the Turkish dotless i
_TOKEN = re.compile(r"[^\W_]+")


def _normalise(text: str) -> str:
    # Compatibility decomposition spells out ligatures (ﬁ) and styled or full-width letters and
    # separates accents, before case folding (a styled capital has no lower case of its own);
    # marks (Mn) and invisible characters (Cf: soft hyphen, zero-width space) are then dropped,
    # so "san\u00adté" is "sante", not "san" and "te".
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_SPELLED_OUT)
    return "".join(c for c in folded if unicodedata.category(c) not in ("Mn", "Cf"))


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(_normalise(text))


def _forms(token: str) -> tuple[str, ...]:
    """The token and the singulars it may be the plural of: entries are written singular."""
    if len(token) <= 3:
        return (token,)
    forms = [token]
    if token.endswith("ies"):
        forms.append(token[:-3] + "y")  # disabilities → disability
    if token.endswith("aux"):
        forms.append(token[:-3] + "al")  # médicaux → medical
    if token.endswith("s"):
        forms.append(token[:-1])
    return tuple(forms)


Phrase = tuple[str, ...]


@dataclass(frozen=True)
class _Vocabulary:
    words: dict[str, tuple[str, str]]  # token → (category, entry)
    prefixes: dict[int, dict[str, tuple[str, str]]]  # length → {prefix: (category, entry)}
    phrases: dict[str, list[tuple[Phrase, str, str]]]  # first token → longest first
    exceptions: dict[str, list[Phrase]]  # first token → phrases

    def matches(self, tokens: list[str]) -> Iterable[tuple[str, str]]:
        """(category, entry) for each match, left to right; a phrase hides the words in it."""
        forms = [_forms(token) for token in tokens]
        excepted = self._excepted(forms)
        i = 0
        while i < len(tokens):
            found = self._phrase_at(forms, i) or self._word_at(tokens[i], forms[i])
            if found is None:
                i += 1
                continue
            length, category, entry = found
            if not all(k in excepted for k in range(i, i + length)):
                yield category, entry
            i += length

    def _phrase_at(self, forms: list[tuple[str, ...]], i: int) -> tuple[int, str, str] | None:
        for first in forms[i]:
            for phrase, category, entry in self.phrases.get(first, ()):
                if _phrase_matches(phrase, forms, i):
                    return len(phrase), category, entry
        return None

    def _word_at(self, token: str, forms: tuple[str, ...]) -> tuple[int, str, str] | None:
        for form in forms:
            if form in self.words:
                return 1, *self.words[form]
        for length, prefixes in self.prefixes.items():
            if token[:length] in prefixes:
                return 1, *prefixes[token[:length]]
        return None

    def _excepted(self, forms: list[tuple[str, ...]]) -> set[int]:
        """Indexes of the tokens inside an exception phrase."""
        covered: set[int] = set()
        for i, token_forms in enumerate(forms):
            for first in token_forms:
                for phrase in self.exceptions.get(first, ()):
                    if _phrase_matches(phrase, forms, i):
                        covered.update(range(i, i + len(phrase)))
        return covered


def _phrase_matches(phrase: Phrase, forms: list[tuple[str, ...]], start: int) -> bool:
    if start + len(phrase) > len(forms):
        return False
    return all(part in forms[start + k] for k, part in enumerate(phrase))


@cache
def _vocabulary() -> _Vocabulary:
    return compile_vocabulary(json.loads(VOCABULARY_FILE.read_text(encoding="utf-8")))


def compile_vocabulary(data: dict) -> _Vocabulary:
    """Check and index the data file's content; a mistake in it is a ValueError naming the entry."""
    if set(data.get("categories", {})) != set(CATEGORIES):
        raise ValueError(f"the vocabulary must have exactly the categories {CATEGORIES}")
    seen: dict[tuple[str, ...], str] = {}

    def tokens_of(entry: str, *, phrase: bool) -> Phrase:
        tokens = tuple(_tokens(entry))
        if (len(tokens) >= 2) != phrase or not tokens:
            kind = "a phrase needs two tokens or more" if phrase else "one token expected"
            raise ValueError(f"vocabulary entry {entry!r}: {kind}, got {tokens}")
        if tokens in seen:
            raise ValueError(f"vocabulary entry {entry!r} repeats {seen[tokens]!r}")
        seen[tokens] = entry
        return tokens

    words: dict[str, tuple[str, str]] = {}
    prefixes: dict[int, dict[str, tuple[str, str]]] = {}
    phrases: dict[str, list[tuple[Phrase, str, str]]] = {}
    for category, entries in data["categories"].items():
        for entry in entries.get("words", []):
            words[tokens_of(entry, phrase=False)[0]] = (category, entry)
        for entry in entries.get("prefixes", []):
            (prefix,) = tokens_of(entry, phrase=False)
            prefixes.setdefault(len(prefix), {})[prefix] = (category, entry)
        for entry in entries.get("phrases", []):
            tokens = tokens_of(entry, phrase=True)
            phrases.setdefault(tokens[0], []).append((tokens, category, entry))
    for candidates in phrases.values():
        candidates.sort(key=lambda candidate: -len(candidate[0]))
    exceptions: dict[str, list[Phrase]] = {}
    for entry in data.get("exceptions", []):
        tokens = tuple(_tokens(entry))
        if not tokens:
            raise ValueError(f"exception {entry!r} has no token")
        exceptions.setdefault(tokens[0], []).append(tokens)
    return _Vocabulary(words, prefixes, phrases, exceptions)
