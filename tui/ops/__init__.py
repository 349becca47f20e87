"""The TUI's headless core: what the app and the ``timeloom`` commands both do.

Edit and branch (:mod:`~timeloom.tui.ops.actions`) and resume
(:mod:`~timeloom.tui.ops.resuming`), carried out by a runner from
:mod:`~timeloom.tui.ops.runners`; naming checkpoints (:mod:`~.refs`), diffing
two states (:mod:`~.diffing`), the JSON editor's format and its checks
(:mod:`~.jsonedit`, :mod:`~.jsondecode`, :mod:`~.editcheck`), loading a graph
(:mod:`~.graphref`), opening a database (:mod:`~.opening`), showing data safely
(:mod:`~.safetext`), the text of every error (:mod:`~.errors`), counts in words (:mod:`~.plural`)
and what a subgraph timeline's id means (:mod:`~.subgraphs`). Nothing here
imports Textual or Rich (an import-linter contract keeps it so).
"""
