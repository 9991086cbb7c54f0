"""The REST API's bearer tokens: create, list, revoke, check (``manage``); their text
format and hash (``token_text``)."""
