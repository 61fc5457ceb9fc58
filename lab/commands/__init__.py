"""Subcommands of ``lab``: one module each, with ``register(subparsers)``."""
