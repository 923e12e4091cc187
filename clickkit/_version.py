"""The clickkit version, in a leaf module that modules can import without the package root."""

__version__ = "0.1.0"
