// Loss recovery end to end: bulk TCP between two stacks (tcp_bulk_pair.h)
// over a link that loses a seeded 1% of its frames either way. SACK, RACK,
// TLP, the RTO and F-RTO must between them deliver every byte, in order.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "bench/tcp_bulk_pair.h"
#include "core/snmp.h"

namespace nettwin::test {
namespace {

TEST(TcpBulkLossTest, LossyTransferCompletesWithTheDataIntact) {
  bench::TcpBulkPair p;
  ASSERT_EQ(p.open(), "");
  p.loss.rate = 0.01;
  p.loss.seed = 7;
  std::vector<uint8_t> sent, received;
  for (int i = 0; i < 32; ++i) {
    std::vector<uint8_t> chunk(64 * 1024);
    for (size_t j = 0; j < chunk.size(); ++j) chunk[j] = uint8_t((j * 131 + size_t(i) * 7) >> 3);
    ASSERT_TRUE(bench::bulk_transfer_chunk(p, chunk, &received)) << "stalled in chunk " << i;
    sent.insert(sent.end(), chunk.begin(), chunk.end());
  }
  EXPECT_GT(p.loss.dropped, 0u);  // the link did lose frames
  EXPECT_GT(p.tx.net().mib.tcp.RetransSegs, 0u);
  ASSERT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent);
}

}  // namespace
}  // namespace nettwin::test
