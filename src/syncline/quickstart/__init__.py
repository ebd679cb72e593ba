"""The sample warehouse and project behind `syncline init` and `syncline quickstart`."""
