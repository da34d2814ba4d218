"""Participants of one tenant: the people who register to its events.

Rule: a participant belongs to exactly one tenant; the same e-mail in two tenants is two
independent people. A participant signs in to one tenant only: the session cookie keeps one
entry per tenant (``p:<slug>``) holding a random token whose SHA-256 is stored in that tenant's
schema, so a token is never looked up anywhere else.
"""
