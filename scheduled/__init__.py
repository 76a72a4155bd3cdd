"""Scheduled jobs (digests, poll closing, retention) and the APScheduler wiring that runs them."""
