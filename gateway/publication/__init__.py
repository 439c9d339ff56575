"""Publication of answered cases without personal data: the coordinator's desk and the public pages."""
