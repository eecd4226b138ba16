// A DMA NIC in the manner of e1000 (drivers/net/ethernet/intel/e1000): an RX
// descriptor ring of pre-allocated skb buffers that the "hardware" fills, an
// interrupt (moderated as ethtool -C sets it) that schedules NAPI, a poll that
// cleans TX completions and RX descriptors and refills buffers, and a TX
// descriptor ring whose completions are freed in the poll.
#pragma once

#include <vector>

#include "core/engine.h"
#include "core/netdevice.h"

namespace nettwin {

class RingNic : public NetDevice {
 public:
  RingNic(Net& net, const DeviceConfig& config);
  ~RingNic() override;

  NetdevTx ndo_start_xmit(SkBuff* skb) override;  // e1000_xmit_frame
  bool receive_from_wire(std::span<const uint8_t> frame) override;
  void ndo_open() override;
  void ndo_stop() override;

  // ethtool -C: an interrupt waits rx_usecs after the first unsignalled
  // event, unless rx_frames frames are pending first (0: no frame limit).
  // rx_usecs 0 with rx_frames <= 1: every event interrupts at once.
  void set_coalesce(unsigned rx_usecs, unsigned rx_frames);
  unsigned rx_usecs() const { return rx_usecs_; }
  unsigned rx_frames() const { return rx_frames_; }
  // ethtool -G (e1000_set_ringparam): the rings are rebuilt; a running
  // device is taken down and up around it, losing what the old rings held.
  void set_ringparam(unsigned rx_size, unsigned tx_size);

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
  uint64_t interrupts() const { return interrupts_; }
  uint64_t restart_queue() const { return restart_queue_; }  // e1000's adapter->restart_queue

  // e1000's TX_WAKE_THRESHOLD: free descriptors needed to wake a stopped
  // queue (at most the ring's size, for the small rings tests use).
  static constexpr unsigned kTxWakeThreshold = 32;

 private:
  static int e1000_clean(NapiStruct* napi, int budget);
  void hw_event(bool rx_frame);   // the hardware has something to signal
  void e1000_intr();              // the interrupt handler
  bool e1000_clean_tx_irq(int budget);
  bool work_pending() const;
  int e1000_clean_rx_irq(int budget);
  void e1000_alloc_rx_buffers(int cleaned_count);
  void build_rings(unsigned rx_size, unsigned tx_size);
  void free_rings();

  std::vector<RxDesc> rx_ring_;
  std::vector<TxDesc> tx_ring_;
  unsigned rx_hw_next_ = 0;     // next descriptor the hardware fills
  unsigned rx_clean_next_ = 0;  // next descriptor the driver takes
  unsigned rx_refill_next_ = 0; // next descriptor e1000_alloc_rx_buffers gives a buffer
  unsigned rx_unused_ = 0;      // descriptors without a buffer (E1000_DESC_UNUSED)
  unsigned tx_use_next_ = 0;
  unsigned tx_clean_next_ = 0;
  unsigned tx_in_flight_ = 0;
  unsigned rx_buf_len_ = 0;
  bool irq_enabled_ = true;
  uint64_t rx_refills_ = 0;
  uint64_t interrupts_ = 0;
  uint64_t restart_queue_ = 0;
  // Interrupt moderation.
  unsigned rx_usecs_ = 0;
  unsigned rx_frames_ = 1;
  unsigned pending_frames_ = 0;   // frames since the last interrupt
  bool irq_pending_ = false;      // an event waits for the moderation timer
  Engine::TimerId itr_timer_ = 0;
  NapiStruct napi_;
};

}  // namespace nettwin
