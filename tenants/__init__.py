"""The tenant data plane: everything that lives inside one tenant's schema.

Rule: nothing here imports ``webapp``; the control plane reaches this package only through
``tenants.api``. Tenant code uses ORM or Core tables only, never raw SQL strings, so that the
schema translation in ``tenants.db`` applies to every statement.
"""
