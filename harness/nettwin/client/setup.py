"""A scenario's setup sent in one round trip: Stack.setup(seed) gathers devices,
addresses, neighbours, routes and sysctls with the same calls as Stack's own, and
apply() sends them as one Control.Configure (a fresh stack first, as reset()).
A conformance run or a packetdrill script sets up a stack per scenario, where a
call per item cost more than the scenario itself."""
from __future__ import annotations


class Setup:
    def __init__(self, stack, seed: int = 1):
        self._stack = stack
        self._msg = stack.pb.StackSetup(seed=seed)
        self.counters: dict = {}   # with_counters(): the stack's counters once set up
        self.subscription = None   # subscribe(): the Subscription opened once set up

    def with_counters(self) -> "Setup":
        """apply() also fills .counters (as Stack.counters()) from Configure's reply."""
        self._msg.counters = True
        return self

    def subscribe(self, events=(), checkpoints: bool = False, skb_data: bool = False) -> "Setup":
        """apply() also opens a buffered subscription, as Stack.subscribe() with these
        arguments, last: .subscription."""
        self._msg.subscribe.CopyFrom(self._stack._filter(events, checkpoints, skb_data))
        return self

    def create_device(self, name: str, kind: str = "ring", mac: str = "", ifindex: int = 0, mtu: int = 0,
                      rx_ring_size: int = 0, tx_ring_size: int = 0) -> "Setup":
        self._msg.devices.add(name=name, kind=kind, mac=mac, ifindex=ifindex, mtu=mtu,
                              rx_ring_size=rx_ring_size, tx_ring_size=tx_ring_size)
        return self

    def add_address(self, dev: str, cidr: str) -> "Setup":
        self._msg.addresses.add(dev=dev, cidr=cidr)
        return self

    def add_neighbour(self, dev: str, ip: str, mac: str, state: str = "permanent") -> "Setup":
        self._msg.neighbours.add(dev=dev, ip=ip, mac=mac, state=state)
        return self

    def add_route(self, dst: str, gateway: str = "", dev: str = "", type: str = "", table: int = 0,
                  metric: int = 0, tos: int = 0, scope: str = "", prefsrc: str = "") -> "Setup":
        self._msg.routes.add(dst=dst, gateway=gateway, dev=dev, type=type, table=table, metric=metric,
                             tos=tos, scope=scope, prefsrc=prefsrc)
        return self

    def set_sysctls(self, values: dict) -> "Setup":
        for name, value in values.items():
            self._msg.sysctls.add(name=name, value=str(value))
        return self

    def apply(self) -> dict:
        """Send it. Returns the sysctls as Stack.set_sysctls does: {name: (value now,
        unknown, error)}. A device, address, neighbour or route the stack refuses
        raises StackError naming its place ("routes[0]: ...")."""
        stack = self._stack
        reply = stack._call("Control.Configure", stack._control.Configure, self._msg)
        self.counters = {c.name: c.value for c in reply.counters}
        if self._msg.HasField("subscribe"):
            self.subscription = stack._subscription(reply.subscription)
        return {r.name: (r.value, r.unknown, r.error) for r in reply.results}
