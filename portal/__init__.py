"""Contact preference portal."""

__version__ = "0.1.0"
