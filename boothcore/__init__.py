"""The shared core of the booth (``appliance``) and the central office (``central``); imports neither."""
