"""Least-privilege suggestions: verdicts per statement and policy, and the edits that carry them out."""
