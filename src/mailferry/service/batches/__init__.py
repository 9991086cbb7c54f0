"""Batches and their users: lifecycle actions, settling, listings and per-user actions."""
