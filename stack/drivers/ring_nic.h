// A DMA NIC in the manner of e1000: an RX descriptor ring of pre-allocated
// skb buffers that the "hardware" fills, an interrupt that schedules NAPI, a
// poll that refills buffers and passes frames up, and a TX descriptor ring
// whose completions free skbs through the completion queue.
#pragma once

#include <vector>

#include "core/netdevice.h"

namespace nettwin {

class RingNic : public NetDevice {
 public:
  RingNic(Net& net, const DeviceConfig& config);
  ~RingNic() override;

  NetdevTx ndo_start_xmit(SkBuff* skb) override;
  bool receive_from_wire(std::span<const uint8_t> frame) override;
  void ndo_stop() override;

  struct RxDesc {
    SkBuff* skb = nullptr;  // the pre-allocated buffer the hardware writes into
    uint32_t length = 0;
    bool done = false;      // DD: the hardware filled it, the driver has not taken it
  };
  struct TxDesc {
    SkBuff* skb = nullptr;
    bool done = false;      // the hardware sent it; waiting for the driver to clean
  };

  const std::vector<RxDesc>& rx_ring() const { return rx_ring_; }
  const std::vector<TxDesc>& tx_ring() const { return tx_ring_; }
  unsigned rx_buffer_len() const { return rx_buf_len_; }
  NapiStruct& napi() { return napi_; }
  uint64_t rx_refills() const { return rx_refills_; }

 private:
  static int poll(NapiStruct* napi, int budget);
  void raise_irq();
  void clean_tx_irq();
  bool work_pending() const;
  int clean_rx_irq(int budget);
  SkBuff* alloc_rx_buffer();

  std::vector<RxDesc> rx_ring_;
  std::vector<TxDesc> tx_ring_;
  unsigned rx_hw_next_ = 0;     // next descriptor the hardware fills
  unsigned rx_clean_next_ = 0;  // next descriptor the driver takes
  unsigned tx_use_next_ = 0;
  unsigned tx_clean_next_ = 0;
  unsigned tx_in_flight_ = 0;
  unsigned rx_buf_len_ = 0;
  bool irq_enabled_ = true;
  uint64_t rx_refills_ = 0;
  NapiStruct napi_;
};

}  // namespace nettwin
