"""WSGI entry point: ``gunicorn wsgi:app`` (production) or ``flask --app wsgi run``."""

import gc

from webapp.app import create_app

app = create_app()

# What the process holds once the app is built (modules, models, catalogues) lives as long as
# the process: frozen out of the garbage collector's reach, so its full collections during
# requests no longer walk it (a tenth of a rendered page's time).
gc.freeze()
