"""Screens for the case's own record, reached from the case view: assessment (a), service
plan (p), formal review (r), event (e), case facts (f), closure (c)."""
