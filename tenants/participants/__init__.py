"""Participants of one tenant: the people who register to its events.

Rule: a participant belongs to exactly one tenant; the same e-mail in two tenants is two
independent people. This first version holds identity fields only; registration, login and
rights come with their own features.
"""
