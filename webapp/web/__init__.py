"""The shared web layer: layout, page-or-fragment rendering, errors, security headers, i18n.

Rule: every page is server-rendered and works without JavaScript; htmx only swaps fragments,
which are blocks of the same page template.
"""
