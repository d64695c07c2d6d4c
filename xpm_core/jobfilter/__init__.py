"""The job filter language of ``xpm jobs --filter`` (``model = "bm25" and @state = "DONE"``).

``parse_filter`` reads a filter into an expression (``expressions``); ``to_sql`` turns it into
a condition over the workspace index (``unfinished_sql``: which unfinished jobs may pass once
their markers are read), ``matches`` evaluates it on one job record.
"""

from __future__ import annotations

from xpm_core.jobfilter.errors import FilterError
from xpm_core.jobfilter.evaluate import matches
from xpm_core.jobfilter.grammar import parse_filter
from xpm_core.jobfilter.sql import to_sql, unfinished_sql

__all__ = ["FilterError", "matches", "parse_filter", "to_sql", "unfinished_sql"]
