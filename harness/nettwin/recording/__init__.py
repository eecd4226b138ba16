"""The recording room: records scenarios on the real Linux kernel in network
namespaces (recorder.py, netns.py, netns_agent.py, ns_processes.py, tracefs.py)."""
