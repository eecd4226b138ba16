"""The replay room: `nettwin replay FILE.pcap` (replay.py)."""
