"""The tenant's documented instructions to its processor: every change of a privacy-relevant
setting (registration form fields, retention, third-party services, list visibility), with who
made it and when (GDPR Art. 28(3)(a))."""
