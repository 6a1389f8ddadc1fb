"""Use cases and the ports they depend on. Imports only ``domain`` (and the standard library)."""
