"""The tools ``compare.py`` runs side by side with Syncline, each behind the same small shape.

Every tool prepares its own destination tables once, then runs the initial load and the
incremental run as child processes (the floor runs in the benchmark's process: it is the least
work any tool could do, not a program a user would start).
"""
