"""Parvis's top floor: the control plane (accounts, organisations, billing, the processor's
duties) and the composition root, ``webapp.app.create_app``, which wires both planes and the
ground floor (``core``) together.

Rule: this package's ``__init__`` imports nothing, so that importing any of its modules never
loads the whole application.
"""
