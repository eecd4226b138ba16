"""nettwin's Python harness: a client for the stack's gRPC server taking and
returning Scapy packets, the conformance comparator, pcap replay, the Linux
recorder and the command line (python3 -m nettwin)."""

# The harness's version; the server and the stack are built from the same tree.
__version__ = "0.9.0"
