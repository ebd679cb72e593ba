"""One sync run, stage by stage: query the model, plan the changes, deliver them, report."""
