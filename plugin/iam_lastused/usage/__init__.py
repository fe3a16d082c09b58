"""Usage data beyond one run's own reports: a store of snapshots made by a sweep, and
IAM Access Analyzer's unused-access findings."""
