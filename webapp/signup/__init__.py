"""Signup: an organisation goes from the home page to its own space, on its own.

Plan choice -> member account (e-mail verified by a link before anything else) -> terms and DPA
accepted (versions recorded) -> Stripe Checkout or a trial (``webapp.billing``) -> the tenant is
provisioned when billing confirms the payment by webhook, never by the redirect -> onboarding
(name, address, language, controller identity and DPO contact).
"""
