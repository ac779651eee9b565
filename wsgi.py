"""WSGI entry point: `gunicorn wsgi:app`."""

import gc

from crm import create_app

app = create_app()
# What start-up built (modules, templates, the mappers) lives as long as the process: moved out
# of the collector's generations, it is not walked again by every full collection, which a
# report's thousands of short-lived objects would otherwise trigger mid-request.
gc.freeze()
