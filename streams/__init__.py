"""callqa: real-time speech quality inspection for Mandarin credit-card call centres."""

__version__ = "0.1.0"
