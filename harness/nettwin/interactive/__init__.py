"""The interactive room: `nettwin shell` (shell.py, session.py), Scapy's
send/receive against the stack (scapy_glue.py) and the skb path printer (skbpath.py)."""
