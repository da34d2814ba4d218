"""How long a tenant keeps each kind of data, and the sweeps that enforce it.

Rule: the retention matrix (defaults and platform bounds in ``services.KINDS``) decides; sweeps
delete or anonymise in batches, one tenant at a time, and write a receipt holding no personal
data. A participant's account is deactivated before it is erased, and can be taken back until
then by signing in.
"""
