"""Plain value types every layer may import: the interfaces and the layers they call.

Nothing here imports from ``engine``, ``state``, ``stores``, ``connection``, ``imap``,
``service``, ``app`` or ``interfaces`` (``tests/interfaces/test_layering.py`` checks):
enums, frozen dataclasses and their parsers, so the CLI and the REST API can name the
values the façade hands them without loading what produces them.
"""
