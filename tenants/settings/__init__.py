"""A tenant's own settings: enabled languages and what participants may show of themselves.

Rule: settings are the tenant's documented instructions to Parvis; they live in the tenant's
schema (one row) and every change is made through ``services.update``.
"""
