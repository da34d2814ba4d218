"""An organisation's members: invitations by e-mail, roles, removal, ownership transfer and the
tenant's two-factor requirement.

Rule: nobody gives a role above their own or touches a member ranked above them, an
organisation always keeps an owner, and a removed member's sessions end at once.
"""
