"""Absolute links for e-mails, built from the configured public address.

Jobs run without a request, where ``url_for(..., _external=True)`` has no host to use. And even
inside a request the ``Host`` header is the client's to choose: a reset link built from it could
point at an attacker's site. So e-mail links always start with ``BASE_URL``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` on ``BASE_URL`` (tenant views need ``tenant=slug``
    outside a request)."""
    base = urlsplit(current_app.config.get("BASE_URL", "http://127.0.0.1:5000"))
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)
