"""From stored runs to decisions: compare two revisions, find change points over history.

The statistics live in benchmark/analysis (pure); this package reads the store
(db/figures_read.py), feeds the analysis and shapes what the commands print. It imports
no CLI and no torch.
"""
