#include "core/sysctl.h"

#include <cctype>
#include <charconv>

namespace nettwin {

const std::vector<Sysctls::Entry>& Sysctls::table() {
  static const std::vector<Entry> t = {
      {"net.core.netdev_budget", &Sysctls::netdev_budget, 0, INT32_MAX},
      {"net.core.somaxconn", &Sysctls::somaxconn, 0, INT32_MAX},
      {"net.ipv4.tcp_timestamps", &Sysctls::tcp_timestamps, 0, 2},
      {"net.ipv4.tcp_sack", &Sysctls::tcp_sack, 0, 1},
      {"net.ipv4.tcp_ecn", &Sysctls::tcp_ecn, 0, 2},
      {"net.ipv4.tcp_ecn_fallback", &Sysctls::tcp_ecn_fallback, 0, 1},
      {"net.ipv4.tcp_dsack", &Sysctls::tcp_dsack, 0, 1},
      {"net.ipv4.tcp_window_scaling", &Sysctls::tcp_window_scaling, 0, 1},
      {"net.ipv4.tcp_moderate_rcvbuf", &Sysctls::tcp_moderate_rcvbuf, 0, 1},
      {"net.ipv4.tcp_syncookies", &Sysctls::tcp_syncookies, 0, 2},
      {"net.ipv4.tcp_max_syn_backlog", &Sysctls::tcp_max_syn_backlog, 0, INT32_MAX},
      {"net.ipv4.tcp_synack_retries", &Sysctls::tcp_synack_retries, 0, 127},
      {"net.ipv4.tcp_rfc1337", &Sysctls::tcp_rfc1337, 0, 1},
      {"net.ipv4.tcp_tw_reuse", &Sysctls::tcp_tw_reuse, 0, 2},
      {"net.ipv4.tcp_max_tw_buckets", &Sysctls::tcp_max_tw_buckets, 0, INT32_MAX},
      {"net.ipv4.tcp_tw_reuse_delay", &Sysctls::tcp_tw_reuse_delay, 1, INT32_MAX},
      {"net.ipv4.tcp_syn_linear_timeouts", &Sysctls::tcp_syn_linear_timeouts, 0, 127},
      {"net.ipv4.tcp_min_tso_segs", &Sysctls::tcp_min_tso_segs, 1, 255},
      {"net.ipv4.tcp_tso_rtt_log", &Sysctls::tcp_tso_rtt_log, 0, 255},
      {"net.ipv4.tcp_tso_win_divisor", &Sysctls::tcp_tso_win_divisor, 0, 255},
      {"net.ipv4.tcp_pacing_ss_ratio", &Sysctls::tcp_pacing_ss_ratio, 0, 1000},
      {"net.ipv4.tcp_pacing_ca_ratio", &Sysctls::tcp_pacing_ca_ratio, 0, 1000},
      {"net.ipv4.tcp_limit_output_bytes", &Sysctls::tcp_limit_output_bytes, 0, INT32_MAX},
      {"net.ipv4.tcp_autocorking", &Sysctls::tcp_autocorking, 0, 1},
      {"net.ipv4.tcp_reordering", &Sysctls::tcp_reordering, 1, INT32_MAX},
      {"net.ipv4.tcp_max_reordering", &Sysctls::tcp_max_reordering, 1, INT32_MAX},
      {"net.ipv4.tcp_frto", &Sysctls::tcp_frto, 0, 255},
      {"net.ipv4.tcp_early_retrans", &Sysctls::tcp_early_retrans, 0, 4},
      {"net.ipv4.tcp_recovery", &Sysctls::tcp_recovery, 1, 1},
      {"net.ipv4.tcp_fack", &Sysctls::tcp_fack, 0, 255},
      {"net.ipv4.tcp_ecn_option", &Sysctls::tcp_ecn_option, 0, 2},
      {"net.ipv4.tcp_fastopen", &Sysctls::tcp_fastopen, 0, INT32_MAX},
      {"nettwin.tcp_clock_phase_ns", &Sysctls::nettwin_tcp_clock_phase_ns, 0, 3'999'999},
      {"net.core.netdev_budget_usecs", &Sysctls::netdev_budget_usecs, 0, INT32_MAX},
      {"net.core.dev_weight", &Sysctls::dev_weight, 1, INT32_MAX},
      {"net.core.dev_weight_rx_bias", &Sysctls::dev_weight_rx_bias, 1, INT32_MAX},
      {"net.core.dev_weight_tx_bias", &Sysctls::dev_weight_tx_bias, 1, INT32_MAX},
      {"net.core.netdev_max_backlog", &Sysctls::netdev_max_backlog, 0, INT32_MAX},
      {"net.core.gro_normal_batch", &Sysctls::gro_normal_batch, 1, INT32_MAX},
      {"net.core.rmem_default", &Sysctls::rmem_default, 2304, INT32_MAX},  // SOCK_MIN_RCVBUF
      {"net.core.rmem_max", &Sysctls::rmem_max, 2304, INT32_MAX},
      {"net.core.wmem_default", &Sysctls::wmem_default, 4608, INT32_MAX},  // SOCK_MIN_SNDBUF
      {"net.core.wmem_max", &Sysctls::wmem_max, 4608, INT32_MAX},
      {"net.ipv4.ip_default_ttl", &Sysctls::ip_default_ttl, 1, 255},
      // ip_forward and conf.all.forwarding are one switch here (writing either sets every device's).
      {"net.ipv4.ip_forward", &Sysctls::ip_forward, 0, 1},
      {"net.ipv4.conf.all.forwarding", &Sysctls::ip_forward, 0, 1},
      {"net.ipv4.conf.all.send_redirects", &Sysctls::send_redirects, 0, 1},
      {"net.ipv4.conf.all.shared_media", &Sysctls::shared_media, 0, 1},
      {"net.ipv4.ip_forward_use_pmtu", &Sysctls::ip_forward_use_pmtu, 0, 1},
      {"net.ipv4.ip_no_pmtu_disc", &Sysctls::ip_no_pmtu_disc, 0, 3},
      {"net.ipv4.icmp_echo_ignore_all", &Sysctls::icmp_echo_ignore_all, 0, 1},
      {"net.ipv4.icmp_echo_ignore_broadcasts", &Sysctls::icmp_echo_ignore_broadcasts, 0, 1},
      {"net.ipv4.icmp_ratelimit", &Sysctls::icmp_ratelimit, 0, INT32_MAX},
      {"net.ipv4.icmp_ratemask", &Sysctls::icmp_ratemask, 0, INT32_MAX},
      {"net.ipv4.icmp_msgs_per_sec", &Sysctls::icmp_msgs_per_sec, 0, INT32_MAX},
      {"net.ipv4.icmp_msgs_burst", &Sysctls::icmp_msgs_burst, 0, INT32_MAX},
      {"net.ipv4.icmp_errors_use_inbound_ifaddr", &Sysctls::icmp_errors_use_inbound_ifaddr, 0, 1},
      {"net.ipv4.icmp_ignore_bogus_error_responses", &Sysctls::icmp_ignore_bogus_error_responses, 0, 1},
      {"net.ipv4.icmp_echo_enable_probe", &Sysctls::icmp_echo_enable_probe, 0, 0},
      {"net.ipv4.ipfrag_time", &Sysctls::ipfrag_time, 0, INT32_MAX},
      {"net.ipv4.ipfrag_high_thresh", &Sysctls::ipfrag_high_thresh, 0, INT32_MAX},
      {"net.ipv4.ipfrag_low_thresh", &Sysctls::ipfrag_low_thresh, 0, INT32_MAX},
      {"net.ipv4.ipfrag_max_dist", &Sysctls::ipfrag_max_dist, 0, INT32_MAX},
      {"net.ipv4.inet_peer_threshold", &Sysctls::inet_peer_threshold, 0, INT32_MAX},
      {"net.ipv4.inet_peer_minttl", &Sysctls::inet_peer_minttl, 0, INT32_MAX / 250},
      {"net.ipv4.inet_peer_maxttl", &Sysctls::inet_peer_maxttl, 0, INT32_MAX / 250},
      {"net.ipv4.tcp_keepalive_time", &Sysctls::tcp_keepalive_time, 0, INT32_MAX / 250},
      {"net.ipv4.tcp_keepalive_intvl", &Sysctls::tcp_keepalive_intvl, 0, INT32_MAX / 250},
      {"net.ipv4.tcp_keepalive_probes", &Sysctls::tcp_keepalive_probes, 0, 255},
      {"net.ipv4.tcp_fin_timeout", &Sysctls::tcp_fin_timeout, 0, INT32_MAX / 250},
      {"net.ipv4.tcp_slow_start_after_idle", &Sysctls::tcp_slow_start_after_idle, 0, 1},
      {"net.ipv4.tcp_notsent_lowat", &Sysctls::tcp_notsent_lowat, 0, UINT32_MAX},
      {"net.ipv4.tcp_syn_retries", &Sysctls::tcp_syn_retries, 1, 127},  // MAX_TCP_SYNCNT
      // u8s (proc_dou8vec_minmax): 0 to 255, as this machine's kernel takes them.
      {"net.ipv4.tcp_retries1", &Sysctls::tcp_retries1, 0, 255},
      {"net.ipv4.tcp_retries2", &Sysctls::tcp_retries2, 0, 255},
      {"net.ipv4.tcp_orphan_retries", &Sysctls::tcp_orphan_retries, 0, 255},
      {"net.ipv4.tcp_pingpong_thresh", &Sysctls::tcp_pingpong_thresh, 1, 255},
      {"net.ipv4.conf.all.rp_filter", &Sysctls::rp_filter, 0, 2},
      {"net.ipv4.conf.all.arp_ignore", &Sysctls::arp_ignore, 0, 8},
      {"net.ipv4.conf.all.arp_announce", &Sysctls::arp_announce, 0, 2},
      {"net.ipv4.conf.all.arp_accept", &Sysctls::arp_accept, 0, 2},
      {"net.ipv4.conf.all.accept_local", &Sysctls::accept_local, 0, 1},
      {"net.ipv4.conf.all.drop_gratuitous_arp", &Sysctls::drop_gratuitous_arp, 0, 1},
      {"net.ipv4.conf.all.route_localnet", &Sysctls::route_localnet, 0, 1},
  };
  return t;
}

const std::vector<Sysctls::Vector>& Sysctls::vectors() {
  static const std::vector<Vector> t = {
      {"net.ipv4.tcp_rmem", &Sysctls::tcp_rmem, 1},  // extra1 = SYSCTL_ONE
      {"net.ipv4.tcp_wmem", &Sysctls::tcp_wmem, 1},
  };
  return t;
}

namespace {

// proc_get_long: an integer as simple_strtoul reads it with base 0 ("0x70403"
// is hex, a leading 0 octal), a '-' before it; the whole text must be the number.
bool parse_long(const char* first, const char* last, int64_t& out) {
  bool neg = first != last && *first == '-';
  if (neg) ++first;
  int base = 10;
  if (last - first > 2 && first[0] == '0' && (first[1] == 'x' || first[1] == 'X')) {
    base = 16;
    first += 2;
  } else if (last - first > 1 && first[0] == '0') {
    base = 8;
  }
  if (first == last) return false;
  auto [ptr, ec] = std::from_chars(first, last, out, base);
  if (ec != std::errc() || ptr != last) return false;
  if (neg) out = -out;
  return true;
}

// proc_dointvec's reading of a vector: integers separated by blanks; fewer than
// the vector holds set the first ones and leave the rest.
Status set_vector(const Sysctls::Vector& e, int64_t (&field)[3], const std::string& value) {
  int64_t v[3];
  size_t n = 0, i = 0;
  const auto blank = [&](size_t k) { return value[k] == ' ' || value[k] == '\t' || value[k] == '\n'; };
  while (true) {
    while (i < value.size() && blank(i)) ++i;
    if (i == value.size()) break;
    size_t end = i;
    while (end < value.size() && !blank(end)) ++end;
    if (n == 3) return Error{"sysctl " + std::string(e.name) + ": more than 3 values in '" + value + "'"};
    if (!parse_long(value.data() + i, value.data() + end, v[n]))
      return Error{"sysctl " + std::string(e.name) + ": '" + value + "' is not a list of integers"};
    if (v[n] < e.min || v[n] > INT32_MAX)
      return Error{"sysctl " + std::string(e.name) + ": " + std::to_string(v[n]) + " is outside [" +
                   std::to_string(e.min) + ", " + std::to_string(INT32_MAX) + "]"};
    ++n;
    i = end;
  }
  if (n == 0) return Error{"sysctl " + std::string(e.name) + ": no value"};
  for (size_t k = 0; k < n; ++k) field[k] = v[k];
  return std::nullopt;
}

}  // namespace

// proc_tcp_fastopen_key: four groups of up to 8 hex digits joined by '-' (a
// second key after a ',').
static bool fastopen_key_ok(const std::string& value) {
  size_t i = 0;
  for (int key = 0; key < 2; ++key) {
    for (int group = 0; group < 4; ++group) {
      size_t digits = 0;
      while (i < value.size() && std::isxdigit(static_cast<unsigned char>(value[i]))) ++i, ++digits;
      if (digits == 0 || digits > 8) return false;
      if (group < 3 && (i == value.size() || value[i++] != '-')) return false;
    }
    if (i == value.size()) return true;
    if (key == 1 || value[i++] != ',') return false;
  }
  return false;
}

Status Sysctls::set(const std::string& name, const std::string& value) {
  if (name == "net.ipv4.tcp_fastopen_key") {
    if (!fastopen_key_ok(value)) return Error{"sysctl " + name + ": '" + value + "' is not a key (%x-%x-%x-%x)"};
    tcp_fastopen_key = value;
    return std::nullopt;
  }
  for (const auto& e : vectors())
    if (name == e.name) return set_vector(e, this->*e.field, value);
  for (const auto& e : table()) {
    if (name != e.name) continue;
    int64_t v = 0;
    if (!parse_long(value.data(), value.data() + value.size(), v))
      return Error{"sysctl " + name + ": '" + value + "' is not an integer"};
    if (v < e.min || v > e.max)
      return Error{"sysctl " + name + ": " + value + " is outside [" + std::to_string(e.min) + ", " +
                   std::to_string(e.max) + "]"};
    this->*e.field = v;
    return std::nullopt;
  }
  return Error{"unknown sysctl '" + name + "'"};
}

std::optional<std::string> Sysctls::get(const std::string& name) const {
  if (name == "net.ipv4.tcp_fastopen_key") return tcp_fastopen_key;
  for (const auto& e : vectors()) {
    if (name != e.name) continue;
    const int64_t(&v)[3] = this->*e.field;  // as /proc shows it: tab-separated
    return std::to_string(v[0]) + "\t" + std::to_string(v[1]) + "\t" + std::to_string(v[2]);
  }
  for (const auto& e : table())
    if (name == e.name) return std::to_string(this->*e.field);
  return std::nullopt;
}

std::vector<std::string> Sysctls::names() const {
  std::vector<std::string> out;
  for (const auto& e : vectors()) out.emplace_back(e.name);
  out.emplace_back("net.ipv4.tcp_fastopen_key");
  for (const auto& e : table()) out.emplace_back(e.name);
  return out;
}

}  // namespace nettwin
