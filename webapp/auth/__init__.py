"""Accounts of tenant members and platform operators: login, logout, throttling, sessions.

Rule: a signed-in browser holds only the id of a server-side login session, so logging out or
changing the password really ends a session; failures never reveal whether an account exists.
"""
