"""The field app (Textual): unlock, caseload, case view and the guided home visit."""
