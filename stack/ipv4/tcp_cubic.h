// CUBIC (net/ipv4/tcp_cubic.c): the private state and the fixed-point pieces
// tests look at. The algorithm itself is cubictcp (tcp_cong.h).
#pragma once

#include <cstdint>

namespace nettwin {

inline constexpr uint32_t BICTCP_BETA_SCALE = 1024;  // beta is scaled by this
inline constexpr uint32_t BICTCP_HZ = 10;            // CUBIC's own time unit: 2^10 per second

// The module parameters, at their defaults.
inline constexpr uint32_t cubic_beta = 717;  // 717/1024 = 0.7: cwnd kept after a loss
inline constexpr uint32_t cubic_bic_scale = 41;  // C = 41*10/1024 = 0.4
inline constexpr uint32_t hystart_low_window = 16;
inline constexpr uint32_t hystart_ack_delta_us = 2000;
inline constexpr uint32_t HYSTART_MIN_SAMPLES = 8;
inline constexpr uint32_t HYSTART_DELAY_MIN = 4000;   // us
inline constexpr uint32_t HYSTART_DELAY_MAX = 16000;  // us

// The factors cubictcp_register precomputes (for an RTT of 100 ms).
inline constexpr uint32_t beta_scale = 8 * (BICTCP_BETA_SCALE + cubic_beta) / 3 / (BICTCP_BETA_SCALE - cubic_beta);
inline constexpr uint32_t cube_rtt_scale = cubic_bic_scale * 10;  // 1024 * C / rtt
inline constexpr uint64_t cube_factor = (1ull << (10 + 3 * BICTCP_HZ)) / (cubic_bic_scale * 10);

// struct bictcp, in icsk_ca_priv.
struct Bictcp {
  uint32_t cnt;               // increase cwnd by 1 after this many ACKed segments
  uint32_t last_max_cwnd;     // W_max: cwnd before the last reduction (after fast convergence)
  uint32_t last_cwnd;         // cwnd at the last update
  uint32_t last_time;         // tcp_mstamp (us) of the last update
  uint32_t bic_origin_point;  // the cubic's plateau
  uint32_t bic_K;             // time from the epoch's start to the plateau, 1/1024 s
  uint32_t delay_min;         // min RTT, us
  uint32_t epoch_start;       // jiffies when the epoch began (0: none)
  uint32_t ack_cnt;           // segments ACKed in the epoch
  uint32_t tcp_cwnd;          // the window Reno would have (TCP friendliness)
  uint16_t unused;            // bictcp_reset clears everything before this
  uint8_t sample_cnt;         // RTT samples taken this round (HyStart delay)
  uint8_t found;              // HyStart found the exit point
  uint32_t round_start;       // us, start of this round
  uint32_t end_seq;           // snd_nxt at the round's start
  uint32_t last_ack;          // us, the last ACK close to the previous one (ACK train)
  uint32_t curr_rtt;          // the round's min RTT, us
};

// cubic_root: a table lookup and one Newton-Raphson step (average error ~0.195%).
uint32_t cubic_root(uint64_t a);

}  // namespace nettwin
