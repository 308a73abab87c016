"""Pure types and rules. No I/O happens in this package."""
