"""Helpers of bench/migrate.py: corpora, peer tools, ceilings, fidelity, process timing."""
