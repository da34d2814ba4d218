"""Third-party services: the operators' catalogue, each organisation's use of it, and the
owners' authorisations of transfers outside the EU (GDPR Art. 28, 44 to 46).

Rule: the catalogue and the authorisations are control-plane records; an organisation's use of
a service lives in its tenant (one of its consent services) and is reached only through
``tenants.api``, in the tenant's unit of work, so a request commits both planes together.
"""
