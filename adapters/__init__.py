"""Adapters: implementations of the application's ports (memory, postgres, redis, gateways...)."""
