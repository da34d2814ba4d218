"""Cookie consent per tenant, with a server-side proof ledger.

Rule: a page never carries a non-essential script, iframe or tracker for a visitor who has not
consented to it: the server decides what to render and which origins the page's CSP allows, from
the visitor's consent id (the only thing in their cookie) looked up in the tenant's ledger. The
ledger holds no personal data: a random id, the choices per service, the banner version and a
hash of its texts, times — and a participant id only for a signed-in participant when the
tenant's notice says so (and for registration consents, which are a participant's own).
"""
