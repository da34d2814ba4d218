"""Support access: an operator reads a tenant's data only under a time-limited grant given by
one of its admins, every page read logged in the tenant's access log."""
