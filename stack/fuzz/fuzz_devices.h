// The devices every fuzz target's stack starts from: a ring NIC (ntring0,
// 198.51.100.2/24) and a veth end (ntveth0, 203.0.113.2/24).
#pragma once

#include "stack.h"

namespace nettwin {

inline void add_fuzz_devices(Stack& stack) {
  DeviceConfig ring;
  ring.name = "ntring0";
  ring.kind = DeviceKind::Ring;
  ring.mac = {0x02, 0, 0, 0, 0x01, 0x02};
  ring.rx_ring_size = 64;
  DeviceConfig veth;
  veth.name = "ntveth0";
  veth.kind = DeviceKind::Veth;
  veth.mac = {0x02, 0, 0, 0, 0x02, 0x02};
  stack.create_device(ring);
  stack.create_device(veth);
  stack.add_address("ntring0", "198.51.100.2/24");
  stack.add_address("ntveth0", "203.0.113.2/24");
}

}  // namespace nettwin
