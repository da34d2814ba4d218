"""Sub-processors (GDPR Art. 28(2) and (4)): the public list, announced changes and the
organisations' objections, and the e-mails that tell owners.

Rule: control-plane records; nothing here reads tenant data. A change is announced before it
takes effect and cannot take effect before its objection window closes; an entry reaches the
public list only through an announcement. ``Safeguard`` (why data may go where it goes) is
defined here and shared by the service catalogue and the registers.
"""
