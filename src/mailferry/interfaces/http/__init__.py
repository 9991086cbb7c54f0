"""The REST API: FastAPI routes over the ``Mailferry`` façade (``app.create_app``).

Served by uvicorn (``server``) inside ``mailferry serve --http`` or alone (``mailferry
api``); bearer tokens (``auth``); errors as ``{code, message, details}`` (``error_map``).
"""
