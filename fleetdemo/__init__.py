"""Programs that run the booth and the central office together: the demo (``booth demo``).

The only package allowed to import both ``appliance`` and ``central`` (tests/test_layering.py).
"""
