"""Hardware backends (camera, GPIO, screen), each with a simulated twin."""
