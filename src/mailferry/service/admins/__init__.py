"""The web console's administrators: a name and a password (hashed with scrypt)."""
