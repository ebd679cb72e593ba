"""Sources and destinations: everything that talks to systems outside Syncline."""
