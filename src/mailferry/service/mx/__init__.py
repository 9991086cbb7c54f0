"""MX: checking where a domain's mail goes, and recording the cut-over."""
