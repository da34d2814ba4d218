"""The privacy registry covers every tenant table that holds personal data (issue 16, point 4).

A table that links to a participant, or has a column named like personal data, must be declared
by the feature holding it (its ``privacy.py``, collected by ``tenants.privacy``). The positive
controls add temporary tables and columns, to a copy of the tenant metadata and to the real one
(removed afterwards), and show that the check names each of them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Date, ForeignKey, Integer, MetaData, String, Table

from tenants import api as tenants_api
from tenants import privacy
from tenants.personal_data import PersonalData
from tenants.retention import sweep
from tenants.retention.services import KINDS


def metadata_copy() -> MetaData:
    copy = MetaData()
    for table in tenants_api.metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def test_every_tenant_table_with_personal_data_is_declared() -> None:
    assert privacy.undeclared(tenants_api.metadata) == []
    declared = {table for kind in privacy.declarations() for table in kind.tables}
    # The check does look at the tables it must: direct links, indirect ones, hashes, the outbox.
    assert {"participants", "answers", "registrations", "sent_reminders", "rating_reports",
            "rights_request_steps", "consent_ledger", "participant_login_failures",
            "job_outbox", "access_log", "instructions"} <= declared
    assert declared <= set(tenants_api.metadata.tables)


def test_a_temporary_table_linking_to_participants_is_caught() -> None:
    copy = metadata_copy()
    assert privacy.undeclared(copy) == []  # the copy is covered like the original
    Table("badges", copy, Column("id", Integer, primary_key=True),
          Column("holder", ForeignKey("participants.id")), Column("label", String(40)))
    assert privacy.undeclared(copy) == [
        "table badges links to participants, and no feature declares it"]


def test_a_temporary_table_on_the_real_metadata_is_caught_then_removed() -> None:
    metadata = tenants_api.metadata
    table = Table("guest_book", metadata, Column("id", Integer, primary_key=True),
                  Column("guest_email", String(254)), Column("message", String(500)))
    try:
        assert privacy.undeclared(metadata) == [
            "table guest_book has columns named like personal data: guest_email, and no "
            "feature declares it"]
    finally:
        metadata.remove(table)
    assert "guest_book" not in metadata.tables
    assert privacy.undeclared(metadata) == []


def test_tables_linking_to_personal_data_and_new_personal_columns_are_caught() -> None:
    copy = metadata_copy()
    # A link through another feature's table: a registration's badge scan is personal too.
    Table("badge_scans", copy, Column("id", Integer, primary_key=True),
          Column("registration_id", ForeignKey("registrations.id")))
    # A declared table gains a column that looks personal, or one linking to a participant.
    copy.tables["participants"].append_column(Column("birth_date", Date))
    copy.tables["registrations"].append_column(
        Column("referrer_id", ForeignKey("participants.id")))
    assert privacy.undeclared(copy) == [
        "table badge_scans links to registrations, which holds personal data, and no feature "
        "declares it",
        "column participants.birth_date looks personal and is not declared",
        "column registrations.referrer_id links to personal data and is not declared"]


def test_a_missing_declaration_or_exemption_and_a_stale_one_are_caught() -> None:
    without_answers = tuple(k for k in privacy.declarations() if k.key != "answers")
    assert privacy.undeclared(tenants_api.metadata, without_answers) == [
        "table answers links to participants, and no feature declares it"]
    assert privacy.undeclared(tenants_api.metadata, exempt=()) == [
        "table consent_config has columns named like personal data: link_participant, and no "
        "feature declares it",
        "table consent_services has columns named like personal data: name, and no feature "
        "declares it"]
    copy = metadata_copy()
    copy.remove(copy.tables["job_outbox"])
    assert privacy.undeclared(copy) == ["declared column job_outbox.args is not in the metadata"]


def test_declarations_name_the_retention_matrix_and_handle_every_account_link() -> None:
    kinds = privacy.declarations()
    keys = [kind.key for kind in kinds]
    assert len(keys) == len(set(keys))
    matrix = {kind.key for kind in KINDS}
    governed = {key for kind in kinds for key in kind.retention}
    assert governed == matrix  # every kind of the matrix governs declared data, none unknown
    for kind in kinds:
        assert bool(kind.retention) != bool(kind.kept), kind.key
        links = [c for c in kind.columns
                 if any(fk.column.table.name == "participants"
                        for fk in c.property.columns[0].foreign_keys)]
        if links or kind.key == "profile":  # tied to an account: the erasure must handle it
            assert kind.erase or kind.anonymise, kind.key
    # An erasure runs backwards: the account itself goes last.
    assert [k.key for k in reversed(kinds) if k.erase or k.anonymise][-1] == "profile"
    with pytest.raises(ValueError, match="either retention kinds"):
        PersonalData("nothing", kinds[0].columns)


def test_the_export_and_the_sweep_keep_their_order() -> None:
    """The registry reproduces what the three central lists did: the export's sections and
    the sweep's steps, in the same order."""
    assert [k.key for k in privacy.declarations() if k.export] == [
        "profile", "answers", "registrations", "ratings", "consent_history", "privacy_choices",
        "rights_requests"]
    assert [(step.kind, step.name) for step in sweep._steps()] == [
        ("inactive_accounts", "warned"), ("inactive_accounts", "deactivated"),
        ("inactive_accounts", "erased"), ("deleted_accounts", "erased"),
        ("form_answers", "deleted"), ("registrations", "deleted"),
        ("rating_comments", "anonymised"), ("connection_logs", "sign_ins"),
        ("connection_logs", "failures"), ("consent_proofs", "deleted"),
        ("rights_requests", "deleted")]
    assert privacy.personal_columns("events") == ()
    assert "email" in privacy.personal_columns("participants")
