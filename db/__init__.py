"""commitbench's database layer: URL resolution, engine/session, migrations, result store.

Submodules are imported on demand; nothing here creates an engine at import time.
"""
