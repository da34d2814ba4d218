"""Organisers' messages to registrants (per event, per language, sent in batches at a bounded
rate), the tenant's editable e-mail texts (confirmation, reminder, follow-up) and the news
unsubscribe link (RFC 8058)."""
