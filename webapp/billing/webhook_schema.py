"""The shape of a Stripe webhook event, checked before anything is written.

A correctly signed body is still only trusted as far as its shape: Stripe changes API versions,
and a body the database cannot hold (a NUL, an id longer than its column, a tenant id beyond a
32-bit integer) would fail at the INSERT, answer 503 and be retried forever. ``parse_event``
reads every field the billing services read, with its type and limits, and raises
``RejectedEvent`` (a reason and the field's path) for anything else: the webhook answers 400,
Stripe stops retrying, and an operator sees the rejection. Plain functions, no dependency.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, overload

MAX_ID = 255  # billing_stripe_events.id, stripe_subscription_id, stripe_invoice_id…
MAX_TYPE = 100  # billing_stripe_events.type
MAX_INT = 2**31 - 1  # tenants.id and amount_cents are 32-bit integers on PostgreSQL
MAX_TIMESTAMP = 253402300799  # 9999-12-31: what a datetime (and a timestamptz) holds
MAX_LABEL = 100  # how much of an id or type a rejection keeps

# Stripe ids (evt_…, sub_…, cus_…) are ASCII letters, digits and underscores; printable ASCII
# without spaces is accepted, which excludes NUL, control characters and lone surrogates.
_ID = re.compile(r"[!-~]+")
_TYPE = re.compile(r"[a-z0-9_.]+")
_DIGITS = re.compile(r"[0-9]{1,10}")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")  # NUL, and what UTF-8 cannot encode

# Why a signed webhook was refused (stored, and shown to operators in words).
REASONS = ("not_json", "missing", "wrong_type", "too_long", "bad_characters", "out_of_range",
           "timestamp_old", "timestamp_future", "unstorable")


class InvalidEvent(ValueError):
    """A webhook whose signature, timestamp or body does not verify."""


class RejectedEvent(InvalidEvent):
    """A webhook Stripe did sign (the HMAC verifies) but that is refused for good: a timestamp
    outside the tolerance, or a body not of the shape expected. Recorded for operators."""

    def __init__(self, reason: str, field: str = "", event_id: str = "",
                 event_type: str = "") -> None:
        super().__init__(f"{reason}: {field or 'body'}")
        self.reason = reason
        self.field = field
        self.event_id = event_id
        self.event_type = event_type


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object: dict[str, Any]


class _Bad(Exception):
    def __init__(self, reason: str, field: str) -> None:
        self.reason, self.field = reason, field


def parse_event(payload: bytes) -> WebhookEvent:
    """The event in a verified body, once every field the services read has its shape."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise RejectedEvent("not_json") from None
    try:
        return _event(body)
    except _Bad as bad:
        raise RejectedEvent(bad.reason, bad.field, *labels(body)) from None


def labels(body: object) -> tuple[str, str]:
    """The event's id and type as far as they can be read, made safe to store and show:
    printable ASCII, at most ``MAX_LABEL`` characters (the rest of the body is never kept: it
    may hold personal data)."""
    if not isinstance(body, dict):
        return "", ""
    return _label(body.get("id")), _label(body.get("type"))


def labels_of(payload: bytes) -> tuple[str, str]:
    try:
        return labels(json.loads(payload))
    except (ValueError, RecursionError):
        return "", ""


def _label(value: object) -> str:
    if not isinstance(value, str):
        return ""
    safe = "".join(c if " " <= c <= "~" else "?" for c in value)
    return safe if len(safe) <= MAX_LABEL else safe[:MAX_LABEL - 1] + "…"


# --- the event and the objects Parvis reads -------------------------------------------------


def _event(body: object) -> WebhookEvent:
    event = _dict(body, "", required=True)
    event_id = _id(event, "id", "", required=True)
    event_type = _type(event)
    data = _dict(event.get("data"), "data", required=True)
    obj = _dict(data.get("object"), "data.object", required=True)
    where = "data.object"
    if event_type == "checkout.session.completed":
        _id(obj, "id", where, required=True)
        _tenant_refs(obj, where)
        _id(obj, "subscription", where)
        _id(obj, "customer", where)
    elif event_type.startswith("customer.subscription."):
        _id(obj, "id", where, required=True)
        _tenant_refs(obj, where)
    elif event_type in ("invoice.paid", "invoice.payment_failed"):
        _invoice(obj, where, paid=event_type == "invoice.paid")
    # Other types are acknowledged and ignored: only their id and type are stored.
    assert event_id is not None
    return WebhookEvent(id=event_id, type=event_type, object=obj)


def _invoice(obj: dict, where: str, *, paid: bool) -> None:
    _id(obj, "subscription", where)  # before API version 2025-03 (basil)
    parent = _dict(obj.get("parent"), f"{where}.parent")
    details = _dict((parent or {}).get("subscription_details"),
                    f"{where}.parent.subscription_details")
    if details is not None:
        _id(details, "subscription", f"{where}.parent.subscription_details")
        _tenant_refs(details, f"{where}.parent.subscription_details")
    if not paid:
        return
    _id(obj, "id", where, required=True)
    for key, limit in (("number", 100), ("currency", None), ("customer_name", None),
                       ("customer_email", None)):
        _text(obj.get(key), f"{where}.{key}", limit)
    _int(obj.get("amount_paid"), f"{where}.amount_paid", 0, MAX_INT)
    address = _dict(obj.get("customer_address"), f"{where}.customer_address")
    for key, value in (address or {}).items():
        _text(value, f"{where}.customer_address.{_label(key)}")
    tax_ids = obj.get("customer_tax_ids")
    if tax_ids is not None and not isinstance(tax_ids, list):
        raise _Bad("wrong_type", f"{where}.customer_tax_ids")
    for n, tax_id in enumerate(tax_ids or []):
        _text(_dict(tax_id, f"{where}.customer_tax_ids.{n}", required=True).get("value"),
              f"{where}.customer_tax_ids.{n}.value")
    transitions = _dict(obj.get("status_transitions"), f"{where}.status_transitions")
    _int((transitions or {}).get("paid_at"), f"{where}.status_transitions.paid_at", 0,
         MAX_TIMESTAMP)


def _tenant_refs(obj: dict, where: str) -> None:
    """``metadata.tenant_id`` and ``client_reference_id``, which Parvis sets to a tenant's id:
    absent or empty, or a tenant id a 32-bit column holds. Stripe keeps metadata as strings."""
    metadata = _dict(obj.get("metadata"), f"{where}.metadata")
    for value, path in (((metadata or {}).get("tenant_id"), f"{where}.metadata.tenant_id"),
                        (obj.get("client_reference_id"), f"{where}.client_reference_id")):
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise _Bad("wrong_type", path)
        if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_INT:
            raise _Bad("out_of_range", path)


# --- fields ----------------------------------------------------------------------------------


@overload
def _dict(value: object, path: str, *, required: Literal[True]) -> dict: ...
@overload
def _dict(value: object, path: str, *, required: bool = False) -> dict | None: ...
def _dict(value: object, path: str, *, required: bool = False) -> dict | None:
    if value is None and not required:
        return None
    if value is None:
        raise _Bad("missing", path)
    if not isinstance(value, dict):
        raise _Bad("wrong_type", path)
    return value


def _id(obj: dict, key: str, where: str, *, required: bool = False) -> str | None:
    """A Stripe id: a non-empty string of printable ASCII that its column holds."""
    path = f"{where}.{key}" if where else key
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise _Bad("missing", path)
        return None
    if not isinstance(value, str):
        raise _Bad("wrong_type", path)
    if len(value) > MAX_ID:
        raise _Bad("too_long", path)
    if not _ID.fullmatch(value):
        raise _Bad("bad_characters", path)
    return value


def _type(event: dict) -> str:
    value = event.get("type")
    if value is None or value == "":
        raise _Bad("missing", "type")
    if not isinstance(value, str):
        raise _Bad("wrong_type", "type")
    if len(value) > MAX_TYPE:
        raise _Bad("too_long", "type")
    if not _TYPE.fullmatch(value):
        raise _Bad("bad_characters", "type")
    return value


def _text(value: object, path: str, limit: int | None = None) -> None:
    """Free text (a name, an address line): a string or nothing, without NUL or what UTF-8
    cannot encode. Over-long names are cut by the service; ``limit`` refuses instead."""
    if value is None:
        return
    if not isinstance(value, str):
        raise _Bad("wrong_type", path)
    if limit is not None and len(value) > limit:
        raise _Bad("too_long", path)
    if _UNSTORABLE.search(value):
        raise _Bad("bad_characters", path)


def _int(value: object, path: str, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):  # a bool is an int to Python
        raise _Bad("wrong_type", path)
    if not low <= value <= high:
        raise _Bad("out_of_range", path)
