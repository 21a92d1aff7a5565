"""The package version, in one place: pyproject.toml reads it, and so does the code."""

__version__ = "0.2.0.dev0"
