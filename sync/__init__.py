"""Sync: the agency server, device enrollment and the end-of-day `fieldkit sync`."""
