"""Scheduling: when syncs are due (interval, cron, visual, dbt Cloud) and the scheduler
that queues their runs; sync sequences live in :mod:`syncline.scheduling.sequences`."""
