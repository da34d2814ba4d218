"""Retention over the tenant fleet: the control plane plans each tenant's sweep and queues it
when due; the sweep itself is the tenant's own (``tenants/retention``)."""
