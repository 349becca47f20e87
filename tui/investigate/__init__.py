"""Finding the bad step, without a UI: search, bisect, provenance, storage
accounting, step-aligned comparison and eval export.

Every tool reads through the checkpointer protocol, so it works the same on
Timeloom and LangGraph databases; where a store lays values out by content
(:class:`timeloom.backends.scan.LaidOutStore`) each distinct value is decoded once.
Nothing here imports Textual or Rich: the CLI (:mod:`.commands`) and the TUI both
build on these modules.
"""
