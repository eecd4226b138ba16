"""nettwin's Python harness: a client for the stack's gRPC server taking and
returning Scapy packets, the conformance comparator, pcap replay, the Linux
recorder and the command line (python3 -m nettwin)."""
