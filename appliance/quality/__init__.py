"""On-device photo quality checks against the CHSI standard, on LiteRT models."""
