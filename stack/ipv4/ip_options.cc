// net/ipv4/ip_options.c, the receive side: __ip_options_compile checks every
// option of a datagram that has any (and fills in record route / timestamp
// slots addressed to us); a malformed one draws ICMP parameter problem
// pointing at the bad byte. ip_rcv_options (ip_input.c) drops what fails, and
// source-routed datagrams (accept_source_route 0).
#include <cstring>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

enum : uint8_t {
  IPOPT_END = 0,
  IPOPT_NOOP = 1,
  IPOPT_RR = 7,
  IPOPT_TIMESTAMP = 68,
  IPOPT_LSRR = 131,
  IPOPT_CIPSO = 134,
  IPOPT_SSRR = 137,
  IPOPT_RA = 148,
};
enum : uint8_t { IPOPT_TS_TSONLY = 0, IPOPT_TS_TSANDADDR = 1, IPOPT_TS_PRESPEC = 3 };

// inet_current_timestamp: milliseconds since midnight UTC, on the stack's clock.
uint32_t inet_current_timestamp(const Net& net) { return uint32_t((net.engine.now() / 1000000) % 86400000); }

// spec_dst_fill: the address we stand for (the one the datagram was sent to).
wire::Ipv4Addr spec_dst(const SkBuff* skb) { return wire::Iphdr{skb_network_header(skb)}.daddr(); }

// __ip_options_compile over skb's options: 0, or the offset (from the IP
// header) of the byte that is wrong.
unsigned ip_options_compile(Net& net, SkBuff* skb, IpOptions* opt) {
  uint8_t* iph = skb_network_header(skb);
  uint8_t* optptr = iph + wire::IPV4_MIN_HLEN;
  int l = int(wire::Iphdr{iph}.ihl() * 4u - wire::IPV4_MIN_HLEN);
  auto error_at = [&](const uint8_t* p) { return unsigned(p - iph); };
  while (l > 0) {
    if (*optptr == IPOPT_END) {
      for (optptr++, l--; l > 0; optptr++, l--) *optptr = IPOPT_END;
      return 0;
    }
    if (*optptr == IPOPT_NOOP) {
      l--;
      optptr++;
      continue;
    }
    if (l < 2) return error_at(optptr);
    const int optlen = optptr[1];
    if (optlen < 2 || optlen > l) return error_at(optptr);
    switch (*optptr) {
      case IPOPT_SSRR:
      case IPOPT_LSRR:
        if (optlen < 3) return error_at(optptr + 1);
        if (optptr[2] < 4) return error_at(optptr + 2);
        if (opt->srr) return error_at(optptr);  // RFC 1812 5.2.4.1: one only
        opt->srr = uint8_t(optptr - iph);
        break;
      case IPOPT_RR:
        if (opt->rr) return error_at(optptr);
        if (optlen < 3) return error_at(optptr + 1);
        if (optptr[2] < 4) return error_at(optptr + 2);
        if (optptr[2] <= optlen) {
          if (optptr[2] + 3 > optlen) return error_at(optptr + 2);
          wire::store_be32(&optptr[optptr[2] - 1], spec_dst(skb));
          optptr[2] += 4;
          opt->rr_needaddr = true;
        }
        opt->rr = uint8_t(optptr - iph);
        break;
      case IPOPT_TIMESTAMP:
        if (opt->ts) return error_at(optptr);
        if (optlen < 4) return error_at(optptr + 1);
        if (optptr[2] < 5) return error_at(optptr + 2);
        if (optptr[2] <= optlen) {
          uint8_t* timeptr = nullptr;
          if (optptr[2] + 3 > optlen) return error_at(optptr + 2);
          switch (optptr[3] & 0xf) {
            case IPOPT_TS_TSONLY:
              timeptr = &optptr[optptr[2] - 1];
              opt->ts_needtime = true;
              optptr[2] += 4;
              break;
            case IPOPT_TS_TSANDADDR:
              if (optptr[2] + 7 > optlen) return error_at(optptr + 2);
              wire::store_be32(&optptr[optptr[2] - 1], spec_dst(skb));
              timeptr = &optptr[optptr[2] + 3];
              opt->ts_needaddr = true;
              opt->ts_needtime = true;
              optptr[2] += 8;
              break;
            case IPOPT_TS_PRESPEC: {
              if (optptr[2] + 7 > optlen) return error_at(optptr + 2);
              const wire::Ipv4Addr addr = wire::load_be32(&optptr[optptr[2] - 1]);
              if (inet_addr_type_dev_table(net, nullptr, addr) == RTN_UNICAST) break;  // not ours
              timeptr = &optptr[optptr[2] + 3];
              opt->ts_needtime = true;
              optptr[2] += 8;
              break;
            }
            default:
              break;  // an unknown flag: kept as it is (the receive side has CAP_NET_RAW)
          }
          if (timeptr) wire::store_be32(timeptr, inet_current_timestamp(net));
        } else if ((optptr[3] & 0xf) != IPOPT_TS_PRESPEC) {
          const unsigned overflow = optptr[3] >> 4;
          if (overflow == 15) return error_at(optptr + 3);
          optptr[3] = uint8_t((optptr[3] & 0xf) | ((overflow + 1) << 4));
        }
        opt->ts = uint8_t(optptr - iph);
        break;
      case IPOPT_RA:
        if (optlen < 4) return error_at(optptr + 1);
        if (optptr[2] == 0 && optptr[3] == 0) opt->router_alert = uint8_t(optptr - iph);
        break;
      case IPOPT_CIPSO:
        // One only; then cipso_v4_validate (CONFIG_NETLABEL, no DOI configured):
        // shorter than its 8-byte minimum is wrong at its length byte, any
        // other at its DOI (no DOI matches).
        if (opt->cipso) return error_at(optptr);
        opt->cipso = uint8_t(optptr - iph);  // kept: the ICMP error echoes it
        return error_at(optptr + (optlen < 8 ? 1 : 2));
      default:
        break;  // security, stream id and the unknown: accepted on receive
    }
    l -= optlen;
    optptr += optlen;
  }
  return 0;
}

}  // namespace

SkbDropReason ip_rcv_options(SkBuff* skb, NetDevice* dev) {
  Net& net = dev_net(dev);
  // skb_cow: the options are written into (record route, timestamps).
  if (skb_cloned(skb)) pskb_expand_head(skb, 0, 0);
  IpOptions opt;
  opt.optlen = uint8_t(wire::Iphdr{skb_network_header(skb)}.ihl() * 4u - wire::IPV4_MIN_HLEN);
  const unsigned bad = ip_options_compile(net, skb, &opt);
  IPCB(skb)->opt = opt;  // what was learnt, also when it failed part way
  if (bad) {
    icmp_send(skb, wire::ICMP_PARAMETERPROB, 0, uint32_t(bad) << 24);
    net.mib.ip.InHdrErrors++;
    return SkbDropReason::IP_INHDR;
  }
  // Source routing is refused (accept_source_route 0, Linux's default).
  return opt.srr ? SkbDropReason::NOT_SPECIFIED : SkbDropReason::NOT_DROPPED_YET;
}

bool ip_options_echo(Net& net, IpReplyOptions* dopt, const SkBuff* skb) {
  *dopt = IpReplyOptions{};
  const IpOptions sopt = IPCB(const_cast<SkBuff*>(skb))->opt;
  if (sopt.optlen == 0) return true;
  const uint8_t* sptr = skb_network_header(skb);
  uint8_t* dptr = dopt->data;
  IpOptions& d = dopt->opt;
  if (sopt.rr) {
    const unsigned optlen = sptr[sopt.rr + 1];
    const unsigned soffset = sptr[sopt.rr + 2];
    d.rr = uint8_t(d.optlen + wire::IPV4_MIN_HLEN);
    std::memcpy(dptr, sptr + sopt.rr, optlen);
    if (sopt.rr_needaddr && soffset <= optlen) {
      if (soffset + 3 > optlen) return false;
      dptr[2] = uint8_t(soffset + 4);
      d.rr_needaddr = true;
    }
    dptr += optlen;
    d.optlen = uint8_t(d.optlen + optlen);
  }
  if (sopt.ts) {
    const unsigned optlen = sptr[sopt.ts + 1];
    unsigned soffset = sptr[sopt.ts + 2];
    d.ts = uint8_t(d.optlen + wire::IPV4_MIN_HLEN);
    std::memcpy(dptr, sptr + sopt.ts, optlen);
    if (soffset <= optlen) {
      if (sopt.ts_needaddr) {
        if (soffset + 3 > optlen) return false;
        d.ts_needaddr = true;
        soffset += 4;
      }
      if (sopt.ts_needtime) {
        if (soffset + 3 > optlen) return false;
        if ((dptr[3] & 0xf) != IPOPT_TS_PRESPEC) {
          d.ts_needtime = true;
          soffset += 4;
        } else if (soffset + 7 <= optlen &&
                   inet_addr_type_dev_table(net, nullptr, wire::load_be32(dptr + soffset - 1)) != RTN_UNICAST) {
          d.ts_needtime = true;
          soffset += 8;
        }
      }
      dptr[2] = uint8_t(soffset);
    }
    dptr += optlen;
    d.optlen = uint8_t(d.optlen + optlen);
  }
  // Source routes are refused on receive, so none is ever reversed here.
  if (sopt.cipso) {
    const unsigned optlen = sptr[sopt.cipso + 1];
    d.cipso = uint8_t(d.optlen + wire::IPV4_MIN_HLEN);
    std::memcpy(dptr, sptr + sopt.cipso, optlen);
    dptr += optlen;
    d.optlen = uint8_t(d.optlen + optlen);
  }
  while (d.optlen & 3) {
    *dptr++ = IPOPT_END;
    d.optlen++;
  }
  return true;
}

void ip_options_build(Net& net, uint8_t* iph, const IpOptions& opt, wire::Ipv4Addr saddr) {
  if (opt.rr_needaddr) wire::store_be32(iph + opt.rr + iph[opt.rr + 2] - 5, saddr);
  if (opt.ts_needaddr) wire::store_be32(iph + opt.ts + iph[opt.ts + 2] - 9, saddr);
  if (opt.ts_needtime) wire::store_be32(iph + opt.ts + iph[opt.ts + 2] - 5, inet_current_timestamp(net));
}

}  // namespace nettwin
