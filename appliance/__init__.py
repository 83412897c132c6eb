"""Diploma-photo booth firmware: one swipe, one photo, of that person."""

__version__ = "0.1.0"
