"""Billing: plans and entitlements, Stripe Checkout and Customer Portal, webhooks, lifecycle."""
