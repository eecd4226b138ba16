"""The comparison room: normalizes events (normalize.py), compares the stack's
output with a recording (compare.py), renders the side-by-side diff (sidebyside.py)
and replays recorded scenarios into the stack (conform.py)."""
