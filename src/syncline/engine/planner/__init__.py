"""Planners: keep a sync's snapshot and diff each run's rows against it."""
