"""The recorder's scenario definitions send what their names promise (checked by
dissecting the frozen bytes, independently of how they were built)."""
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from nettwin.scenarios import catalog  # noqa: E402


def ipv4_header_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total  # 0xFFFF when the stored checksum is right


def only_frame(name):
    frames = catalog.get(name).frames()
    assert len(frames) == 1
    return frames[0].frame


def test_the_five_required_scenarios_exist():
    assert {"arp_then_echo", "echo_bad_ip_csum", "other_mac", "truncated_ipv4",
            "ipv4_version5"} <= set(catalog.SCENARIOS)


def test_arp_then_echo_steps():
    s = catalog.get("arp_then_echo")
    kinds = [st.kind for st in s.steps]
    assert kinds == ["send", "wait", "send"] and s.steps[1].ms == 100
    arp, echo = (f.frame for f in s.frames())
    assert arp[:6] == b"\xff" * 6 and arp[12:14] == b"\x08\x06"
    assert arp[20:22] == b"\x00\x01" and arp[38:42] == bytes([198, 51, 100, 2])
    assert echo[:6] == bytes.fromhex("020000000102") and echo[12:14] == b"\x08\x00"
    assert ipv4_header_checksum(echo[14:34]) == 0xFFFF and echo[34] == 8   # echo request


def test_bad_checksum_frame_differs_from_a_good_one_only_in_the_checksum():
    bad = only_frame("echo_bad_ip_csum")
    good = catalog.get("arp_then_echo").frames()[1].frame
    assert ipv4_header_checksum(bad[14:34]) != 0xFFFF
    assert bad[:24] == good[:24] and bad[26:] == good[26:]


def test_other_mac_frame():
    f = only_frame("other_mac")
    assert f[:6] == bytes.fromhex("020000000199") and ipv4_header_checksum(f[14:34]) == 0xFFFF


def test_truncated_frame_claims_more_than_it_carries():
    f = only_frame("truncated_ipv4")
    total_length = struct.unpack("!H", f[16:18])[0]
    assert total_length > len(f) - 14 and ipv4_header_checksum(f[14:34]) == 0xFFFF


def test_version5_frame():
    f = only_frame("ipv4_version5")
    assert f[14] >> 4 == 5 and f[14] & 0xF == 5 and ipv4_header_checksum(f[14:34]) == 0xFFFF


def test_scenario_json_round_trip_keeps_the_bytes():
    for s in catalog.SCENARIOS.values():
        js = s.to_json()
        assert js["name"] == s.name and js["description"]
        sent = [bytes.fromhex(st["frame"]) for st in js["steps"] if st["kind"] == "send"]
        assert sent == [f.frame for f in s.frames()]


def test_recordings_go_to_the_checkouts_traces_by_default():
    # The conformance suite reads traces/ at the repository's root; a recorder that
    # wrote anywhere else (harness/traces/ once) left its recordings unread.
    from nettwin.recording import recorder
    assert recorder.DEFAULT_OUT == Path(__file__).resolve().parents[1] / "traces"
