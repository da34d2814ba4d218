"""The data processing agreement (GDPR Art. 28): its versioned texts, the owners' acceptances,
and what the other processor duties (``subprocessors``, ``registers``, ``catalogue``) build on.

Rule: control-plane records about tenants; nothing here reads tenant data. Texts that bind
Parvis are versioned files whose SHA-256 is recorded with each acceptance. The agreement is
the base of the processor duties: their refusals (``services.ProcessorError``), the tenants it
binds (``services.INFORMED``) and the organisation's data-protection pages' navigation and
notices (``templates/dpa/_org_nav.html``, ``_notices.html``) live here.
"""
