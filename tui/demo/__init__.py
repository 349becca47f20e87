"""``timeloom demo``: a scripted support agent and a database of its runs."""
