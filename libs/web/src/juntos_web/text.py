"""Free text from callers: printable characters only.

PostgreSQL refuses NUL in text and JSONB, and control characters in names or reasons are never
meant; refusing them in the schema gives the caller a 422 that says so, instead of a 500 from the
database.
"""

PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""No control characters but tab, newline and carriage return."""
