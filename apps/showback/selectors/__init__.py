"""Reads for the showback pages: team pages (team.py) and the organisation overview (overview.py)."""
