"""The scenarios room: what the recorder plays against the real kernel (model.py,
the families ipv4.py, udp.py, packet.py, all of them in catalog.py), the DUT's
socket steps (sock_steps.py) and the recorded scenario folders (folder.py)."""
