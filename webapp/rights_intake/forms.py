"""The platform's request form and code form are the tenants' own, through the door: the same
rights, labels, checks and messages wherever a person asks."""

from __future__ import annotations

from tenants import api as tenants_api

RequestForm = tenants_api.RightsRequestForm
CodeForm = tenants_api.RightsCodeForm
KIND_LABELS = tenants_api.RIGHTS_KIND_LABELS

__all__ = ["KIND_LABELS", "CodeForm", "RequestForm"]
