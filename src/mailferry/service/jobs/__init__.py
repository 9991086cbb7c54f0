"""Jobs: the scheduler, claims and caps, and the one path from a claimed user into the engine."""
