"""Who on the tenant's staff read or exported participants' data, and when.

Rule: every read of a participant's full record and every export by a member is recorded here,
with the member's opaque control-plane id; the log holds no copy of the data read.
"""
