"""loadlab: a load-testing lab for Python web services."""

from pathlib import Path

__version__ = "0.1.0"

# The checkout loadlab runs from: locustfiles/, targets/, prometheus/, grafana/ and slo.toml live here.
REPO = Path(__file__).resolve().parent.parent
