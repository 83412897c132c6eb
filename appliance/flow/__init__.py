"""The booth flow: an explicit state machine fed by events (card, button, operator, tick)."""
