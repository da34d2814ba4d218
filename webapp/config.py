"""Configuration from environment variables, with safe defaults for the embedded setup.

Every setting is read from a ``PARVIS_*`` environment variable; the README lists them. The
defaults run Parvis on SQLite under ``instance/`` with an in-process job queue stored in SQLite.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from core import mail
from webapp.billing.plans import PLANS

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PARVIS_{name}", default)


def _flag(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance: Path) -> str:
    """The key signing sessions: from the environment, else a random one kept in instance/."""
    if key := os.environ.get("PARVIS_SECRET_KEY"):
        return key
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _prices(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {plan.strip(): price.strip() for plan, price in pairs}


def load(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping; ``overrides`` wins (used by tests and benchmarks)."""
    overrides = overrides or {}
    instance = Path(overrides.get("INSTANCE_PATH") or _env("INSTANCE_PATH", str(ROOT / "instance")))
    cfg: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": _env("DATABASE_URL", f"sqlite:///{instance / 'parvis.db'}"),
        # SQLite only: where the one-file-per-tenant databases live.
        "TENANT_DATA_DIR": _env("TENANT_DATA_DIR", str(instance / "tenants")),
        "DB_POOL_SIZE": int(_env("DB_POOL_SIZE", "10")),
        "DB_POOL_RECYCLE": int(_env("DB_POOL_RECYCLE", "1800")),
        # Connections each pool (control plane, tenant plane) opens beyond DB_POOL_SIZE under
        # load; empty: as many as DB_POOL_SIZE. A checkout waits DB_POOL_TIMEOUT seconds at
        # most (then 503); a PostgreSQL connection attempt DB_CONNECT_TIMEOUT seconds.
        "DB_MAX_OVERFLOW": _env("DB_MAX_OVERFLOW", ""),
        "DB_POOL_TIMEOUT": float(_env("DB_POOL_TIMEOUT", "5")),
        "DB_CONNECT_TIMEOUT": int(_env("DB_CONNECT_TIMEOUT", "5")),
        # Admission control (core/web/admission.py), per process: requests running at once
        # (0: as many as a pool has connections, the most it may be), seconds a request may
        # have waited before the app sees it, seconds from its arrival to its commit, and
        # the Retry-After of every 503. 0 turns the queue and deadline checks off.
        "MAX_IN_FLIGHT": int(_env("MAX_IN_FLIGHT", "0")),
        # Per host: requests of all the processes sharing INSTANCE_PATH running at once
        # (empty: the CPUs this process may use; 0: no bound).
        "CPU_SLOTS": _env("CPU_SLOTS", ""),
        "QUEUE_TIMEOUT": float(_env("QUEUE_TIMEOUT", "0.5")),
        "QUEUE_TARGET": float(_env("QUEUE_TARGET", "0.05")),
        "REQUEST_DEADLINE": float(_env("REQUEST_DEADLINE", "25")),
        "RETRY_AFTER": int(_env("RETRY_AFTER", "5")),
        # Job queue: "sqlite" (file in instance/), "redis://…", or "immediate" (run inline).
        "JOBS_BACKEND": _env("JOBS_BACKEND", "sqlite"),
        "JOBS_SQLITE_PATH": _env("JOBS_SQLITE_PATH", str(instance / "jobs.db")),
        # Seconds after which a queued job whose wake-up was lost (a killed worker) runs again.
        "JOBS_LEASE_SECONDS": float(_env("JOBS_LEASE_SECONDS", "60")),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "LANGUAGES": ("fr", "en"),
        "SESSION_COOKIE_NAME": "parvis_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SECURE_COOKIES", False),
        "PERMANENT_SESSION_LIFETIME": int(_env("SESSION_HOURS", "12")) * 3600,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "LOGIN_MAX_FAILURES": int(_env("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_FAILURE_WINDOW": int(_env("LOGIN_FAILURE_WINDOW", "900")),
        "LOGIN_MAX_FAILURES_PER_IP": int(_env("LOGIN_MAX_FAILURES_PER_IP", "50")),
        "SECURITY_CONTACT": _env("SECURITY_CONTACT", "mailto:security@parvis.example"),
        # E-mail: "outbox" (.eml files in <instance>/outbox/) or an smtp://, smtp+starttls://
        # or smtps:// URL with optional user:password@.
        # Public address of the site, for links in e-mails sent by jobs (no request there).
        "BASE_URL": _env("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "MAIL_URL": _env("MAIL_URL", "outbox"),
        "MAIL_FROM": _env("MAIL_FROM", "Parvis <no-reply@localhost>"),
        "MAIL_TIMEOUT": float(_env("MAIL_TIMEOUT", "10")),
        # Billing: "fake" (the offline fake Stripe mounted at /_fake-stripe, for the demo and
        # tests; never in production) or "stripe" (real Stripe: key, webhook secret and prices).
        # Whole public pages kept in memory for anonymous visitors (tenants/pagecache.py).
        "PAGE_COPIES": _flag("PAGE_COPIES", True),
        "BILLING_GATEWAY": _env("BILLING_GATEWAY", "fake"),
        "STRIPE_API_KEY": _env("STRIPE_API_KEY", "sk_test_fake"),
        "STRIPE_WEBHOOK_SECRET": _env("STRIPE_WEBHOOK_SECRET", ""),
        # plan=price_id pairs, comma-separated: "starter=price_1…,team=price_2…,organisation=…"
        "STRIPE_PRICES": _prices(_env("STRIPE_PRICES", "")),
        "STRIPE_API_BASE": _env("STRIPE_API_BASE", ""),  # another Stripe address (a fake's)
        "BILLING_GRACE_DAYS": int(_env("BILLING_GRACE_DAYS", "14")),  # past due, then read-only
        "BILLING_READ_ONLY_DAYS": int(_env("BILLING_READ_ONLY_DAYS", "30")),  # then suspended
        "TESTING": False,
    }
    cfg.update(overrides)
    if cfg["DB_MAX_OVERFLOW"] in ("", None):  # after overrides: a test's pool size counts
        cfg["DB_MAX_OVERFLOW"] = cfg["DB_POOL_SIZE"]
    cfg["DB_MAX_OVERFLOW"] = int(cfg["DB_MAX_OVERFLOW"])
    # A mistyped mail URL or sender fails at start-up rather than at the first e-mail.
    mail.mailer_from_config(cfg)
    cfg["SECRET_KEY"] = overrides.get("SECRET_KEY") or _secret_key(Path(cfg["INSTANCE_PATH"]))
    _billing(cfg)
    return cfg


def _billing(cfg: dict) -> None:
    """Real Stripe needs its three settings, checked at start-up; the fake gets prices and a
    webhook secret of its own (derived from the secret key, so nobody else can sign for it)."""
    if cfg["BILLING_GATEWAY"] == "stripe":
        if not (cfg["STRIPE_API_KEY"].startswith(("sk_", "rk_"))
                and cfg["STRIPE_WEBHOOK_SECRET"] and cfg["STRIPE_PRICES"]):
            raise ValueError("PARVIS_BILLING_GATEWAY=stripe needs PARVIS_STRIPE_API_KEY, "
                             "PARVIS_STRIPE_WEBHOOK_SECRET and PARVIS_STRIPE_PRICES")
    elif cfg["BILLING_GATEWAY"] == "fake":

        cfg["STRIPE_PRICES"] = cfg["STRIPE_PRICES"] or {code: f"price_{code}" for code in PLANS}
        cfg["STRIPE_WEBHOOK_SECRET"] = cfg["STRIPE_WEBHOOK_SECRET"] or "whsec_" + hashlib.sha256(
            f"fake-stripe:{cfg['SECRET_KEY']}".encode()).hexdigest()[:32]
    else:
        raise ValueError("PARVIS_BILLING_GATEWAY must be 'fake' or 'stripe'")
