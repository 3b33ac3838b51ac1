"""The supervisor console: review queue, approvals, supervision, team compliance."""
