"""Workers: leasing runs and executing them in this process."""
