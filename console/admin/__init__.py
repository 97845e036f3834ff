"""Administration of the group: practices, practitioners, users, audit log, retention and patients' rights."""
