"""The `syncline` command line (Typer and Rich); the only place that configures logging."""
