"""The CSV of users: bytes to validated rows, every problem named by line and column."""
