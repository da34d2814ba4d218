"""Organisations: the tenant registry and each tenant's lifecycle (provision, suspend, drop).

Rule: the registry row is the source of truth for a tenant's status and schema revision; the
tenant's own schema is reached only through ``tenants.api``.
"""
