# Plog.py: PyGObject overrides for libplog (placeholder, being written)
from ..importer import modules

Plog = modules['Plog']._introspection_module
__all__ = []
