"""One module per ``booth`` sub-command; each exposes ``register(subparsers)``.

``register`` adds its parser and sets ``func(args) -> int`` (the exit code).
"""
