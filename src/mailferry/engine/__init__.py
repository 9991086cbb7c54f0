"""One user's migration: folder mapping, planning, and executing the plan."""
