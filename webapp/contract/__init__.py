"""Contract end (issue 7 point 7): termination, the data-return bundle, the return window, the
tenant's destruction and its certificate. See docs/contract-end.md.

Rule: a tenant's data is deleted only here, by the destruction job, after the return window.
"""
