"""The privacy registry: every kind of personal data the tenant plane holds, declared by the
feature that holds it (its ``privacy.py``, shaped by ``tenants.personal_data``), collected here.

What handles personal data as a whole iterates this registry instead of listing features: a
participant's export (``rights.services.export_data``), the erasure of their account
(``rights.services.erase``, also run by the retention sweep), the retention sweep's data steps
(``retention.sweep``) and the personal columns named in the contract-end bundle's manifest
(``tenants.bundle``). A new feature that stores personal data writes its ``privacy.py`` and adds
it to ``FEATURES``; ``undeclared`` (run by ``tests/tenants/test_privacy_registry.py``) names any
tenant table that links to a participant, or has a column that looks personal, and that no
feature declares.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import Session

from tenants import outbox
from tenants.audit import privacy as audit
from tenants.consent import privacy as consent
from tenants.fields import privacy as fields
from tenants.instructions import privacy as instructions
from tenants.messaging import privacy as messaging
from tenants.participants import privacy as participants
from tenants.participants.models import Participant
from tenants.personal_data import NotPersonal, PersonalData, Step, column_of
from tenants.ratings import privacy as ratings
from tenants.registration import privacy as registration
from tenants.retention.services import KINDS
from tenants.rights import privacy as rights

# Every module declaring personal data, each with ``PERSONAL_DATA`` (and ``NOT_PERSONAL`` if
# a column only looks personal). The order counts: a participant's export has its sections in
# this order; an erasure runs it backwards, so the account itself (``participants``) goes last;
# a retention kind's steps of equal rank run in it.
FEATURES: tuple[ModuleType, ...] = (participants, fields, registration, messaging, ratings,
                                    consent, rights, audit, instructions, outbox)

ACCOUNTS = Participant.__tablename__
# Words of column names (split at "_") that hold, or point at, a person: a table with one
# must be declared. "by" ends the names of who did something (``decided_by``).
PERSONAL_WORDS = frozenset({
    "participant", "member", "person", "people", "user", "attendee", "guest", "visitor",
    "author", "reporter", "recipient", "contact", "customer", "email", "mail", "phone",
    "mobile", "ip", "address", "name", "surname", "birth", "birthday", "dob", "gender", "city",
    "postal", "zip", "comment", "objection", "directive", "by"})


def looks_personal(column_name: str) -> bool:
    return not PERSONAL_WORDS.isdisjoint(column_name.lower().split("_"))


def declarations(features: tuple[ModuleType, ...] = FEATURES) -> tuple[PersonalData, ...]:
    """Every declared kind, in the registry's order."""
    return tuple(kind for module in features for kind in module.PERSONAL_DATA)


def not_personal(features: tuple[ModuleType, ...] = FEATURES) -> tuple[NotPersonal, ...]:
    return tuple(item for module in features for item in getattr(module, "NOT_PERSONAL", ()))


@functools.cache
def _columns_by_table() -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = {}  # dicts keep the declaration order, once each
    for kind in declarations():
        for table, names in kind.tables.items():
            found.setdefault(table, {}).update(dict.fromkeys(names))
    return {table: tuple(names) for table, names in found.items()}


def personal_columns(table: str) -> tuple[str, ...]:
    """The declared personal columns of ``table`` (none: it holds no personal data)."""
    return _columns_by_table().get(table, ())


# --- what handles personal data as a whole -----------------------------------------------------


def export(db: Session, participant: Participant, language: str = "en",
           default: str = "fr") -> dict[str, Any]:
    """Everything this tenant holds about ``participant``, one section per exported kind."""
    return {kind.key: kind.export(db, participant, language, default)
            for kind in declarations() if kind.export is not None}


def erase(db: Session, participant: Participant) -> dict[str, int]:
    """Erase ``participant``'s account: each kind deleted or anonymised, features in reverse
    order (dependents first, the account last). Returns rows handled per kind (counts only)."""
    handled: dict[str, int] = {}
    for kind in reversed(declarations()):
        action = kind.erase or kind.anonymise
        if action is not None:
            handled[kind.key] = action(db, participant)
    db.flush()
    return handled


def steps() -> tuple[Step, ...]:
    """The retention steps of every declared kind, in the matrix's order of their kinds, then
    by rank (a stable sort keeps the registry's order otherwise)."""
    order = {kind.key: position for position, kind in enumerate(KINDS)}
    declared = [step for kind in declarations() for step in kind.steps]
    return tuple(sorted(declared, key=lambda step: (order[step.kind], step.rank)))


# --- coverage ----------------------------------------------------------------------------------


def undeclared(metadata: MetaData, kinds: tuple[PersonalData, ...] | None = None,
               exempt: tuple[NotPersonal, ...] | None = None) -> list[str]:
    """What ``metadata`` holds that looks personal and is not declared (empty: all covered).

    A table holds personal data when it links to the accounts table, has a column whose name
    looks personal (``looks_personal``, unless declared ``NotPersonal``), or links to such a
    table; each such table needs declared columns, including those looks and links."""
    kinds = declarations() if kinds is None else kinds
    exempt = not_personal() if exempt is None else exempt
    declared = {(column.table.name, column.name)
                for kind in kinds for column in map(column_of, kind.columns)}
    cleared = {(column.table.name, column.name)
               for column in (column_of(item.column) for item in exempt)}

    def looks(table: Table) -> list[str]:
        return [c.name for c in table.columns
                if looks_personal(c.name) and (table.name, c.name) not in cleared]

    why: dict[str, str] = {}
    for table in metadata.tables.values():
        if any(fk.column.table.name == ACCOUNTS for fk in table.foreign_keys):
            why[table.name] = f"links to {ACCOUNTS}"
        elif looks(table):
            why[table.name] = "has columns named like personal data: " + ", ".join(looks(table))
        elif any(t == table.name for t, _c in declared):
            why[table.name] = "declared"
    grown = True
    while grown:  # tables linking to a table that holds personal data hold some too
        grown = False
        for table in metadata.tables.values():
            linked = sorted({fk.column.table.name for fk in table.foreign_keys} & set(why))
            if table.name not in why and linked:
                why[table.name] = f"links to {linked[0]}, which holds personal data"
                grown = True

    problems = []
    for name in sorted(why):
        table = metadata.tables[name]
        if not any(t == name for t, _c in declared):
            problems.append(f"table {name} {why[name]}, and no feature declares it")
            continue
        for column in table.columns:
            if (name, column.name) in declared:
                continue
            if column.name in looks(table):
                problems.append(f"column {name}.{column.name} looks personal and is not "
                                "declared")
            elif any(fk.column.table.name in why for fk in column.foreign_keys):
                problems.append(f"column {name}.{column.name} links to personal data and is "
                                "not declared")
    problems += [f"declared column {table}.{column} is not in the metadata"
                 for table, column in sorted(declared)
                 if table not in metadata.tables or column not in metadata.tables[table].c]
    return problems
