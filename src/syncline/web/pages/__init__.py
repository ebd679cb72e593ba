"""One module per area of the UI, each exposing ``router``."""
