"""Page benchmark: the team page and the overview over 10 million events, rendered in-process."""

from .run import PagesFigures, pages_run

__all__ = ["PagesFigures", "pages_run"]
