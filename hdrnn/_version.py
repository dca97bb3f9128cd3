"""The version of hdrnn, in one place (read by the package, the build and the docs)."""

__version__ = "0.1.0"
