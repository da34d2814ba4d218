"""The sensitive-data guard: what a custom field may ask, in three verdicts.

A field's label, help text, purpose and options, in every language, are scanned against the
vocabulary in ``sensitive_terms.json`` (its ``_comment`` documents the format and the decisions
on ambiguous words). The verdict is:

- **refuse**: the texts point at GDPR Art. 9 or Art. 10 data, or at a national identification
  number (the French NIR, whose use French law limits to the processings a decree lists);
- **warn**: the texts point at data that may reveal a special category but that organisers
  legitimately need (halal or kosher meals for catering, accessibility needs such as a
  wheelchair or sign language); the admin acknowledges the warning, and for accessibility
  needs states the purpose, before the field is saved;
- **accept**: nothing found.

Texts and entries are normalised the same way, so capitals, accents, ligatures, plurals and
punctuation inside a phrase do not hide a term, while matching whole tokens keeps "Société" or
"racine" from looking like "santé" or "race". A few words have another meaning near some
context words ("race de votre chien" is a breed): those are listed in the data file too.
Each finding quotes the words of the author's text that matched, as the author wrote them.

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

REFUSE, WARN, ACCEPT = "refuse", "warn", "accept"
# Refused: the special categories of Art. 9, criminal data (Art. 10), national identifiers.
CATEGORIES: tuple[str, ...] = (
    "health", "religion", "political_opinion", "trade_union", "ethnic_origin", "sex_life",
    "genetic", "biometric", "criminal", "national_id",
)
# Accepted once the admin acknowledges the warning.
WARNINGS: tuple[str, ...] = ("meal", "accessibility")
# Health-adjacent warnings: the field must also say why it asks (its purpose).
NEEDS_PURPOSE: frozenset[str] = frozenset({"accessibility"})

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
    "national_id": _l("This field would collect a national identification number (in France "
                      "the NIR, the social security number). Art. 87 of the GDPR lets each "
                      "country restrict its use; in France only the processings listed by "
                      "decree (Loi Informatique et Libertés, art. 30, décret n° 2019-341) may "
                      "use it, and registering to an event is not one of them."),
    "meal": _l("Meal options such as halal or kosher may reveal a person's religion, a "
               "special category of personal data under Art. 9 of the GDPR. They are "
               "accepted because you need them for catering."),
    "accessibility": _l("Accessibility needs (a wheelchair, sign language…) may reveal a "
                        "disability, which is health data under Art. 9 of the GDPR. They are "
                        "accepted because you need them to welcome the person."),
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
    "national_id": _l("Do not ask: participants are identified by their account and e-mail "
                      "address. If a funder requires an identifier, ask the funder how to "
                      "report attendance without it."),
    "meal": _l("Offer them among other choices (vegetarian, no preference…) without naming a "
               "religion in the question, keep the answer optional, and use it for catering "
               "only."),
    "accessibility": _l("Ask only what you need to arrange the event, never why; keep the "
                        "answer optional, and state in the purpose how the answer is used "
                        "(for example: to arrange access to the venue), in every language of "
                        "the label."),
}


@dataclass(frozen=True)
class Finding:
    category: str  # one of CATEGORIES (refused) or WARNINGS
    term: str  # the vocabulary entry that matched, as written in the data file
    text: str  # the author's text in which it was found, as written
    word: str  # the words of that text that matched, as written ("Religion", "casier judiciaire")

    @property
    def verdict(self) -> str:
        return WARN if self.category in WARNINGS else REFUSE

    @property
    def whole_text(self) -> bool:
        """Whether the words found are the whole text (a message then quotes them once)."""
        return _tokens(self.word) == _tokens(self.text)


def scan(texts: Iterable[str | None]) -> list[Finding]:
    """Every category the texts point at, refused or warned: at most one finding per category,
    in the order found. Texts are scanned separately, so two options never combine into a
    phrase."""
    vocabulary = _vocabulary()
    findings: dict[str, Finding] = {}
    for text in texts:
        if not text:
            continue
        spans = _spans(text)
        for category, term, first, last in vocabulary.matches([token for token, _s, _e in spans]):
            if category not in findings:
                word = " ".join(text[spans[first][1]:spans[last][2]].split())
                findings[category] = Finding(category, term, text, word)
    return list(findings.values())


def verdict(findings: Iterable[Finding]) -> str:
    """REFUSE if anything is refused, else WARN if anything is warned, else ACCEPT."""
    verdicts = {finding.verdict for finding in findings}
    return REFUSE if REFUSE in verdicts else WARN if WARN in verdicts else ACCEPT


def explanation(category: str) -> str:
    """Why a field in ``category`` is refused or warned about, in the current language."""
    return str(_EXPLANATIONS[category])


def suggestion(category: str) -> str:
    """What to ask instead (refused) or how to ask (warned), in the current language."""
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


def _spans(text: str) -> list[tuple[str, int, int]]:
    """Each normalised token with the start and end of its letters in ``text`` as written."""
    if text.isascii():  # the common case: normalising maps each character to one
        return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text.casefold())]
    # Normalise character by character, remembering where each normalised one came from.
    origin: list[int] = []
    parts: list[str] = []
    for index, char in enumerate(text):
        normalised = _normalise(char)
        parts.append(normalised)
        origin.extend([index] * len(normalised))
    spans = []
    for m in _TOKEN.finditer("".join(parts)):
        end = origin[m.end() - 1] + 1
        while end < len(text) and unicodedata.category(text[end]) == "Mn":
            end += 1  # the accents typed after the token's last letter belong to it
        spans.append((m.group(), origin[m.start()], end))
    return spans


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
class _Context:
    """A word's other meaning: not a match when one of ``near`` is at most ``window`` tokens
    away ("race" near "chien" is a breed)."""
    near: frozenset[str]
    window: int


@dataclass(frozen=True)
class _Vocabulary:
    words: dict[str, tuple[str, str]]  # token → (category, entry)
    prefixes: dict[int, dict[str, tuple[str, str]]]  # length → {prefix: (category, entry)}
    phrases: dict[str, list[tuple[Phrase, str, str]]]  # first token → longest first
    exceptions: dict[str, list[Phrase]]  # first token → phrases
    other_meanings: dict[str, list[_Context]]  # word entry's token → its other meanings

    def matches(self, tokens: list[str]) -> Iterable[tuple[str, str, int, int]]:
        """(category, entry, first token, last token) for each match, left to right; a phrase
        hides the words in it."""
        forms = [_forms(token) for token in tokens]
        excepted = self._excepted(forms)
        i = 0
        while i < len(tokens):
            found = self._phrase_at(forms, i) or self._word_at(tokens[i], forms[i])
            if found is None:
                i += 1
                continue
            length, category, entry = found
            if (not all(k in excepted for k in range(i, i + length))
                    and not (length == 1 and self._other_meaning(forms, i))):
                yield category, entry, i, i + length - 1
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

    def _other_meaning(self, forms: list[tuple[str, ...]], i: int) -> bool:
        """Whether the word at ``i`` stands near a context that gives it another meaning."""
        for context in (c for form in forms[i] for c in self.other_meanings.get(form, ())):
            nearby = range(max(0, i - context.window), min(len(forms), i + context.window + 1))
            if any(k != i and context.near.intersection(forms[k]) for k in nearby):
                return True
        return False

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
    if set(data.get("warnings", {})) != set(WARNINGS):
        raise ValueError(f"the vocabulary must have exactly the warnings {WARNINGS}")
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
    for category, entries in [*data["categories"].items(), *data["warnings"].items()]:
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
    return _Vocabulary(words, prefixes, phrases, exceptions, _other_meanings(data, words))


def _other_meanings(data: dict, words: dict[str, tuple[str, str]]) -> dict[str, list[_Context]]:
    meanings: dict[str, list[_Context]] = {}
    for item in data.get("other_meanings", []):
        near = frozenset(token for entry in item["near"] for token in _tokens(entry))
        window = item.get("window", 4)
        if not near or not isinstance(window, int) or window < 1:
            raise ValueError(f"other meaning {item!r}: near words and a window of 1 or more "
                             "tokens expected")
        for entry in item["words"]:
            tokens = _tokens(entry)
            if len(tokens) != 1 or tokens[0] not in words:
                raise ValueError(f"other meaning of {entry!r}: not a word of the vocabulary")
            meanings.setdefault(tokens[0], []).append(_Context(near, window))
    return meanings
