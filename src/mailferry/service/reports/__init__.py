"""Reports: the batch report (JSON, CSV, text) and its e-mail delivery."""
