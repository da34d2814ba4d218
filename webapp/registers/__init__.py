"""Registers of processing (GDPR Art. 30) and the organisations' instructions log (Art. 28(3)(a)).

Rule: a register is generated from data (``controller``: the platform's own record as code;
``tenant``: an organisation's live configuration, read through ``tenants.api``, never its
participants' data) and stored as a new version only when what it is generated from changes.
Pages, prints and CSV exports read a stored version, so any version reads in either language.
"""
