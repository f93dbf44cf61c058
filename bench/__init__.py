"""`make bench`: load and timing measurements of the whole application (see bench/run.py)."""
