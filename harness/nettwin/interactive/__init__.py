"""The interactive room: `nettwin shell` (shell.py, session.py), Scapy attached to a
stack as its tester (attach.py: Scapy's own sr1, sniff, TCP_client... against the
stack; its sockets in stack_sockets.py over the tap in tap.py; scapy_glue.py for one
call), the skb path printer (skbpath.py) and `nettwin trace` (pwru.py, trace_cmd.py)."""
