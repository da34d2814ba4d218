"""Data-subject rights inside a tenant. For now: the hard erasure of a participant account,
which each feature hooks into (issue 6 builds the full rights-request flow on this package)."""
