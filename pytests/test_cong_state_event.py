"""tcp:tcp_cong_state_set: the recorder parses it, and the comparator takes from the
stack only the tracepoints a recording had enabled (recordings made before the
recorder knew an event must not see the stack's emissions of it)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from nettwin.comparison.conform import subscribed_events  # noqa: E402
from nettwin.recording import tracefs  # noqa: E402

LINE = ("          <idle>-0       [000] ..s1.  5208.312046: tcp_cong_state_set: family=AF_INET "
        "sport=8080 dport=40000 saddr=198.51.100.2 daddr=198.51.100.1 saddrv6=::ffff:198.51.100.2 "
        "daddrv6=::ffff:198.51.100.1 cong_state=3")


def test_the_recorder_records_and_parses_the_ca_state():
    assert "tcp:tcp_cong_state_set" in tracefs.RECORDED_EVENTS
    ev = tracefs.parse_line(LINE)
    assert ev["name"] == "tcp:tcp_cong_state_set"
    assert ev["skb"] is None
    assert ev["fields"]["cong_state"] == "3"
    assert ev["fields"]["family"] == "2"
    assert (ev["fields"]["saddr"], ev["fields"]["dport"]) == ("198.51.100.2", "40000")


def test_only_the_recordings_enabled_events_are_subscribed():
    older = {"trace": {"events_enabled": ["net:netif_rx", "tcp:tcp_retransmit_skb", "kmem:kmem_cache_free"]}}
    assert subscribed_events(older) == ["net:netif_rx", "tcp:tcp_retransmit_skb"]
    newer = {"trace": {"events_enabled": list(tracefs.RECORDED_EVENTS)}}
    assert "tcp:tcp_cong_state_set" in subscribed_events(newer)


def test_a_recording_without_the_list_gets_every_compared_event():
    assert "tcp:tcp_cong_state_set" in subscribed_events({})
