"""One-shot ``migrate`` and ``verify`` of a CSV, without the service's database."""
