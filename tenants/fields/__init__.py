"""The tenant's registration form: standard fields, custom fields, answers, sensitive-data guard.

Rules: e-mail and password are always asked; the tenant chooses for each other standard field
whether it is off, optional or required. A custom field has a type fixed at creation, labels,
help texts and options in each tenant language, a purpose, an order, and an optional condition.
Removing a field or an option archives it, so existing answers keep their meaning; answers
store option keys, never labels. A field that points at GDPR Art. 9/10 data or a national
identification number is refused; one about halal/kosher meals or accessibility needs is saved
once the admin acknowledges the guard's warning (``guard``).
"""
