"""loadlab: a load-testing lab for Python web services."""

__version__ = "0.1.0"
