"""Scapy, unchanged, against a stack (nettwin.interactive.attach):

    from nettwin.client import Stack
    import nettwin.scapy
    from scapy.all import *
    stack = Stack(); ...                 # a device ntdut0 with 198.51.100.2/24
    nettwin.scapy.attach(stack)          # Scapy's conf now points at the stack
    sr1(IP(dst="198.51.100.2")/ICMP())   # Scapy's own sr1, from the tester 198.51.100.1
    nettwin.scapy.detach()
"""
from .interactive.attach import Attachment, HostInterfaceError, NotAttached, attach, attached, attachment, detach

__all__ = ["Attachment", "HostInterfaceError", "NotAttached", "attach", "attached", "attachment", "detach"]
