"""Free text from callers: printable characters only.

PostgreSQL refuses NUL in text and JSONB, and control characters in names or reasons are never
meant; refusing them in the schema gives the caller a 422 that says so, instead of a 500 from the
database.
"""

_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

PRINTABLE = rf"^{_CHAR}*$"
"""No control characters but tab, newline and carriage return."""

PRINTABLE_NOT_BLANK = rf"^{_CHAR}*[^\s\x00-\x1f\x7f]{_CHAR}*$"
"""Printable, with at least one character that is not whitespace: for required text that the
model strips (`str_strip_whitespace`), so that the schema refuses what stripping would empty."""
