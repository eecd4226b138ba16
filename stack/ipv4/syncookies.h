// net/ipv4/syncookies.c: the SYN-ACK's ISN as a cookie (mss index and a
// minute counter under two siphash keys), and the TCP options kept in the low
// bits of its TSval, so a listener under SYN flood keeps no request state.
// Addresses and ports are host order; seqs are host-order values of th->seq.
#pragma once

#include <cstdint>

#include "core/jiffies.h"
#include "ipv4/tcp_sock.h"

namespace nettwin {

class Net;
struct SkBuff;
struct Sock;

// include/net/tcp.h
inline constexpr uint32_t MAX_SYNCOOKIE_AGE = 2;            // minutes a cookie stays valid
inline constexpr uint64_t TCP_SYNCOOKIE_PERIOD = 60 * HZ;   // jiffies per count
inline constexpr uint64_t TCP_TS_HZ = 1000;                 // TSval ticks per second
inline constexpr uint8_t TCP_SACK_SEEN = 1 << 0;

// syncookies.c's layout
inline constexpr uint32_t COOKIEBITS = 24;  // upper 8 bits carry the count
inline constexpr uint32_t COOKIEMASK = (uint32_t(1) << COOKIEBITS) - 1;
inline constexpr uint32_t TS_OPT_WSCALE_MASK = 0xf;  // 0xf: the SYN had no wscale
inline constexpr uint32_t TS_OPT_SACK = 1u << 4;
inline constexpr uint32_t TS_OPT_ECN = 1u << 5;
inline constexpr uint32_t TSBITS = 6;

// The MSS values a cookie can carry (index 0..3), sorted.
inline constexpr uint16_t msstab[] = {536, 1300, 1440, 1460};

// tcp_cookie_time: the jiffies clock in whole minutes.
uint32_t tcp_cookie_time(const Net& net);

// The cookie ISN for a SYN (saddr/sport: the peer); *mssp is rounded down to
// the msstab entry the cookie encodes.
uint32_t __cookie_v4_init_sequence(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
                                   uint32_t seq, uint16_t* mssp);
// The mss an ACK's cookie (ntohl(th->ack_seq) - 1) encodes, or 0 if it is
// forged or older than MAX_SYNCOOKIE_AGE minutes; seq is the ACK's ntohl(th->seq).
int __cookie_v4_check(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq,
                      uint32_t cookie);

// The SYN-ACK's first timestamp (in ns; TSval = ns / 1e6) with wscale/sack/ecn
// in its low 6 bits, never later than now_ns.
uint64_t cookie_init_timestamp(bool wscale_ok, uint8_t snd_wscale, bool sack_ok, bool ecn_ok, uint64_t now_ns);
// Options back from the echoed TSecr (tsoff already taken off rcv_tsecr);
// false if it names an option the sysctls have turned off.
bool cookie_timestamp_decode(int sysctl_tcp_timestamps, int sysctl_tcp_sack, int sysctl_tcp_window_scaling,
                             TcpOptionsReceived* tcp_opt);
// The ECN bit of the echoed TSecr (cookie_ecn_ok without the dst feature test:
// the caller passes dst_feature(dst, RTAX_FEATURE_ECN)).
bool cookie_ecn_ok(const TcpOptionsReceived& tcp_opt, int sysctl_tcp_ecn, bool dst_feature_ecn);

// cookie_v4_check: an ACK to listener sk with no request sock. If it carries
// a valid cookie (and the listener overflowed recently) the request is rebuilt
// from it and the child made (SyncookiesRecv); returns the child, sk itself
// when the ACK is no cookie's (SyncookiesFailed if it was a bad one), or null
// when the skb was dropped here.
Sock* cookie_v4_check(Net& net, Sock* sk, SkBuff* skb);

}  // namespace nettwin
