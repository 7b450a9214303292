"""Usage: who may see which usage rows, and everything shown or sent of them.

This package owns the scope rules (a non-admin sees only their own requests; an admin sees
everyone's or one user's), the Usage dashboard's figures, the recent rows and the CSV/Parquet
exports. REST (api/usage.py), the Usage tab and its Gradio API (ui/usage.py) only call the
UsageService; the queries themselves stay in storage/ (analytics.py, usage.py, exports.py).

The analytics types are re-exported here, so that ui/ needs nothing from storage/.
"""

from storage.analytics import Bucket, Outcomes, Percentiles, UsageFilter
from usage.dashboard import UsageView
from usage.scope import ALL, DEFAULT_RANGE, EVERYONE, RANGES
from usage.service import UsageService

__all__ = ["ALL", "DEFAULT_RANGE", "EVERYONE", "RANGES", "Bucket", "Outcomes", "Percentiles",
           "UsageFilter", "UsageService", "UsageView"]
