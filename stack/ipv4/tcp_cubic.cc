// CUBIC with HyStart, as Linux 6.18's net/ipv4/tcp_cubic.c: after a loss cwnd
// follows W(t) = C (t - K)^3 + W_max in fixed point (C = 0.4, t in 1/1024 s,
// K the time to come back to W_max), never slower than Reno would grow
// (TCP friendliness); slow start ends early when HyStart sees an ACK train
// as long as half the minimum RTT or the RTT rising.
#include "ipv4/tcp_cubic.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>

#include "core/net.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_sock.h"

namespace nettwin {

namespace {

constexpr uint32_t HYSTART_ACK_TRAIN = 0x1;
constexpr uint32_t HYSTART_DELAY = 0x2;
constexpr uint32_t hystart_detect = HYSTART_ACK_TRAIN | HYSTART_DELAY;
constexpr bool fast_convergence = true;
constexpr bool tcp_friendliness = true;
constexpr uint32_t USEC_PER_SEC = 1000000;
constexpr uint32_t USEC_PER_MSEC = 1000;
constexpr uint32_t USEC_PER_JIFFY = USEC_PER_SEC / HZ;

inline bool after(uint32_t a, uint32_t b) { return int32_t(b - a) < 0; }
inline uint32_t tcp_jiffies32(const Sock* sk) { return uint32_t(sk->net->engine.jiffies()); }
// bictcp_clock_us: the ACK's time as tcp_mstamp_refresh took it.
inline uint32_t bictcp_clock_us(const Sock* sk) { return uint32_t(tcp_sk(sk)->tcp_mstamp); }
// usecs_to_jiffies rounds up.
inline uint32_t usecs_to_jiffies(uint32_t us) { return (us + USEC_PER_JIFFY - 1) / USEC_PER_JIFFY; }
inline int fls64(uint64_t x) { return x ? 64 - std::countl_zero(x) : 0; }

void bictcp_reset(Bictcp* ca) {
  std::memset(ca, 0, offsetof(Bictcp, unused));
  ca->found = 0;
}

void bictcp_hystart_reset(Sock* sk) {
  Bictcp* ca = inet_csk_ca<Bictcp>(sk);
  ca->round_start = ca->last_ack = bictcp_clock_us(sk);
  ca->end_seq = tcp_sk(sk)->snd_nxt;
  ca->curr_rtt = ~0U;
  ca->sample_cnt = 0;
}

void cubictcp_init(Sock* sk) {
  bictcp_reset(inet_csk_ca<Bictcp>(sk));
  bictcp_hystart_reset(sk);  // hystart is on; initial_ssthresh (0) is then unused
}

// After an idle period (the first send since), move the epoch on by the idle
// time so cwnd continues on the curve instead of jumping.
void cubictcp_cwnd_event(Sock* sk, TcpCaEvent event) {
  if (event != CA_EVENT_TX_START) return;
  Bictcp* ca = inet_csk_ca<Bictcp>(sk);
  const uint32_t now = tcp_jiffies32(sk);
  const int32_t delta = int32_t(now - tcp_sk(sk)->lsndtime);
  if (ca->epoch_start && delta > 0) {
    ca->epoch_start += uint32_t(delta);
    if (after(ca->epoch_start, now)) ca->epoch_start = now;
  }
}

// ca->cnt for the current cwnd: how many ACKed segments per cwnd increment.
void bictcp_update(Sock* sk, uint32_t cwnd, uint32_t acked) {
  const TcpSock* tp = tcp_sk(sk);
  Bictcp* ca = inet_csk_ca<Bictcp>(sk);
  uint32_t delta, bic_target, max_cnt;
  uint64_t offs, t;

  ca->ack_cnt += acked;

  delta = uint32_t(tp->tcp_mstamp) - ca->last_time;
  if (ca->last_cwnd == cwnd && delta <= USEC_PER_SEC / 32) return;

  // cnt is recomputed at most once per ms; a cwnd reduction clears epoch_start
  // and forces it.
  if (!(ca->epoch_start && delta < USEC_PER_MSEC)) {
    ca->last_cwnd = cwnd;
    ca->last_time = uint32_t(tp->tcp_mstamp);

    if (ca->epoch_start == 0) {
      ca->epoch_start = tcp_jiffies32(sk);
      ca->ack_cnt = acked;
      ca->tcp_cwnd = cwnd;
      if (ca->last_max_cwnd <= cwnd) {
        ca->bic_K = 0;
        ca->bic_origin_point = cwnd;
      } else {
        // K = cbrt((W_max - cwnd) / C), in 1/1024 s.
        ca->bic_K = cubic_root(cube_factor * (ca->last_max_cwnd - cwnd));
        ca->bic_origin_point = ca->last_max_cwnd;
      }
    }

    // t: time since the epoch plus one min RTT (where cwnd will be when this
    // ACK's data is acked), in 1/1024 s.
    t = uint64_t(int64_t(int32_t(tcp_jiffies32(sk) - ca->epoch_start)));
    t += usecs_to_jiffies(ca->delay_min);
    t <<= BICTCP_HZ;
    t /= HZ;

    offs = t < ca->bic_K ? ca->bic_K - t : t - ca->bic_K;
    // C * (t - K)^3, C = cube_rtt_scale / 1024, (t-K) in 1/1024 s.
    delta = uint32_t((cube_rtt_scale * offs * offs * offs) >> (10 + 3 * BICTCP_HZ));
    bic_target = t < ca->bic_K ? ca->bic_origin_point - delta : ca->bic_origin_point + delta;

    if (bic_target > cwnd)
      ca->cnt = cwnd / (bic_target - cwnd);
    else
      ca->cnt = 100 * cwnd;  // a very small increment

    // With no loss seen yet, grow at least 5% per RTT.
    if (ca->last_max_cwnd == 0 && ca->cnt > 20) ca->cnt = 20;
  }

  if (tcp_friendliness) {
    // Reno's window, emulated with beta_scale ACKs per segment of growth.
    delta = (cwnd * beta_scale) >> 3;
    while (ca->ack_cnt > delta) {
      ca->ack_cnt -= delta;
      ca->tcp_cwnd++;
    }
    if (ca->tcp_cwnd > cwnd) {  // CUBIC is slower than Reno: grow as Reno
      delta = ca->tcp_cwnd - cwnd;
      max_cnt = cwnd / delta;
      if (ca->cnt > max_cnt) ca->cnt = max_cnt;
    }
  }

  // At most 1 segment per 2 ACKed: 1.5x per RTT.
  ca->cnt = std::max(ca->cnt, 2U);
}

void cubictcp_cong_avoid(Sock* sk, uint32_t /*ack*/, uint32_t acked) {
  TcpSock* tp = tcp_sk(sk);
  if (!tcp_is_cwnd_limited(tp)) return;
  if (tcp_in_slow_start(tp)) {
    acked = tcp_slow_start(tp, acked);
    if (!acked) return;
  }
  bictcp_update(sk, tp->snd_cwnd, acked);
  tcp_cong_avoid_ai(tp, inet_csk_ca<Bictcp>(sk)->cnt, acked);
}

uint32_t cubictcp_recalc_ssthresh(Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  Bictcp* ca = inet_csk_ca<Bictcp>(sk);
  ca->epoch_start = 0;  // end of the epoch
  // Fast convergence: a flow losing below its last W_max releases bandwidth
  // by remembering a lower plateau.
  if (tp->snd_cwnd < ca->last_max_cwnd && fast_convergence)
    ca->last_max_cwnd = (tp->snd_cwnd * (BICTCP_BETA_SCALE + cubic_beta)) / (2 * BICTCP_BETA_SCALE);
  else
    ca->last_max_cwnd = tp->snd_cwnd;
  return std::max((tp->snd_cwnd * cubic_beta) / BICTCP_BETA_SCALE, 2U);
}

void cubictcp_state(Sock* sk, uint8_t new_state) {
  if (new_state == TCP_CA_Loss) {
    bictcp_reset(inet_csk_ca<Bictcp>(sk));
    bictcp_hystart_reset(sk);
  }
}

// TSO/GRO aggregation allowance: up to 1 ms, the time 4 GSO packets take at
// the pacing rate (0 when no rate is known).
uint32_t hystart_ack_delay(const Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  const uint64_t rate = tp->sk_pacing_rate;
  if (!rate) return 0;
  return uint32_t(std::min<uint64_t>(USEC_PER_MSEC, uint64_t(tp->sk_gso_max_size) * 4 * USEC_PER_SEC / rate));
}

void hystart_update(Sock* sk, uint32_t delay) {
  TcpSock* tp = tcp_sk(sk);
  Bictcp* ca = inet_csk_ca<Bictcp>(sk);

  if (after(tp->snd_una, ca->end_seq)) bictcp_hystart_reset(sk);  // a new round
  if (tp->snd_cwnd < hystart_low_window) return;

  if (hystart_detect & HYSTART_ACK_TRAIN) {
    const uint32_t now = bictcp_clock_us(sk);
    // ACKs arriving close together form a train; once the train is longer
    // than half the min RTT the pipe is full.
    if (int32_t(now - ca->last_ack) <= int32_t(hystart_ack_delta_us)) {
      ca->last_ack = now;
      uint32_t threshold = ca->delay_min + hystart_ack_delay(sk);
      if (tp->sk_pacing_status == 0) threshold >>= 1;  // SK_PACING_NONE
      if (int32_t(now - ca->round_start) > int32_t(threshold)) {
        ca->found = 1;
        sk->net->mib.tcpext.TCPHystartTrainDetect++;
        sk->net->mib.tcpext.TCPHystartTrainCwnd += tp->snd_cwnd;
        tp->snd_ssthresh = tp->snd_cwnd;
      }
    }
  }

  if (hystart_detect & HYSTART_DELAY) {
    // The round's min RTT over HYSTART_MIN_SAMPLES samples, against delay_min
    // plus an eighth of it (clamped to [4, 16] ms).
    if (ca->curr_rtt > delay) ca->curr_rtt = delay;
    if (ca->sample_cnt < HYSTART_MIN_SAMPLES) {
      ca->sample_cnt++;
    } else if (ca->curr_rtt > ca->delay_min + std::clamp(ca->delay_min >> 3, HYSTART_DELAY_MIN, HYSTART_DELAY_MAX)) {
      ca->found = 1;
      sk->net->mib.tcpext.TCPHystartDelayDetect++;
      sk->net->mib.tcpext.TCPHystartDelayCwnd += tp->snd_cwnd;
      tp->snd_ssthresh = tp->snd_cwnd;
    }
  }
}

void cubictcp_acked(Sock* sk, const AckSample& sample) {
  const TcpSock* tp = tcp_sk(sk);
  Bictcp* ca = inet_csk_ca<Bictcp>(sk);
  if (sample.rtt_us < 0) return;  // duplicates without timestamps
  // Discard delay samples right after fast recovery.
  if (ca->epoch_start && int32_t(tcp_jiffies32(sk) - ca->epoch_start) < int32_t(HZ)) return;
  const uint32_t delay = sample.rtt_us == 0 ? 1 : uint32_t(sample.rtt_us);
  if (ca->delay_min == 0 || ca->delay_min > delay) ca->delay_min = delay;
  if (!ca->found && tcp_in_slow_start(tp)) hystart_update(sk, delay);
}

static_assert(sizeof(Bictcp) <= sizeof(TcpSock::icsk_ca_priv));

}  // namespace

uint32_t cubic_root(uint64_t a) {
  // cbrt of the 6 most significant bits: v[x] = cbrt(x << 18) - 1, so that
  // cbrt(x) = (v[x] + 10) >> 6 (the table as tuned by hand in Linux).
  static constexpr uint8_t v[] = {
      0,   54,  54,  54,  118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156,
      157, 161, 164, 168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199,
      200, 202, 204, 206, 209, 211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229,
      231, 232, 234, 236, 237, 239, 240, 242, 244, 245, 246, 248, 250, 251, 252, 254,
  };
  uint32_t b = uint32_t(fls64(a));
  if (b < 7) return (uint32_t(v[uint32_t(a)]) + 35) >> 6;  // a in [0, 63]
  b = ((b * 84) >> 8) - 1;  // about b / 3
  const uint32_t shift = uint32_t(a >> (b * 3));
  uint32_t x = uint32_t(uint32_t(v[shift] + 10) << b) >> 6;
  // One Newton-Raphson step: x = (2x + a / x^2) / 3, with x(x-1) for x^2 and
  // 341/1024 for 1/3.
  x = 2 * x + uint32_t(a / (uint64_t(x) * uint64_t(x - 1)));
  x = (x * 341) >> 10;
  return x;
}

const TcpCongestionOps cubictcp = {
    .name = "cubic",
    .flags = TCP_CONG_NON_RESTRICTED,  // the built-in default: always allowed
    .init = cubictcp_init,
    .release = nullptr,
    .ssthresh = cubictcp_recalc_ssthresh,
    .cong_avoid = cubictcp_cong_avoid,
    .set_state = cubictcp_state,
    .cwnd_event = cubictcp_cwnd_event,
    .in_ack_event = nullptr,
    .pkts_acked = cubictcp_acked,
    .undo_cwnd = tcp_reno_undo_cwnd,
};

}  // namespace nettwin
