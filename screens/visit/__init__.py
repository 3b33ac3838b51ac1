"""The guided home visit: one screen per step, an encrypted draft autosaved as the worker types."""
