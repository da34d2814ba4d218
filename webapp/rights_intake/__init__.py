"""Rights requests sent to Parvis itself: the platform's request form, which passes each
verified request on to the organisations that hold data with the address (docs/rights.md,
"Requests sent to Parvis")."""
