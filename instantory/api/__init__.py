"""The site's API plumbing: the one DRF exception handler and the JSON error pages under /api/."""
