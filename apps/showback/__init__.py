"""Showback: team pages, the organisation overview, statements and the demo company."""
