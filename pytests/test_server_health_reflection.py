"""The standard services other gRPC tools look for: grpc.health.v1.Health (what
grpc_health_probe and orchestrators ask) and server reflection (what grpcurl uses
to list and call services without the .proto files). Their messages are written
by hand here (a few protobuf bytes), as a tool without nettwin's stubs sends them."""
from __future__ import annotations

import grpc

from server_fixtures import server_process  # noqa: F401 (fixture)


def _raw(channel, method, kind="unary_unary"):
    make = getattr(channel, kind)
    return make(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)


def test_health_check_says_serving(server_process):  # noqa: F811
    with grpc.insecure_channel(server_process.address) as ch:
        # HealthCheckRequest{service: ""} is empty; HealthCheckResponse{status: SERVING (1)}.
        reply = _raw(ch, "/grpc.health.v1.Health/Check")(b"", timeout=10)
        assert reply == b"\x08\x01"


def test_reflection_lists_nettwins_services(server_process):  # noqa: F811
    with grpc.insecure_channel(server_process.address) as ch:
        stream = _raw(ch, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "stream_stream")
        # ServerReflectionRequest{list_services: ""} (field 7, a string).
        replies = list(stream(iter([b"\x3a\x00"]), timeout=10))
    assert len(replies) == 1
    listed = replies[0]
    for service in (b"nettwin.v1.Nic", b"nettwin.v1.Trace", b"nettwin.v1.Control", b"nettwin.v1.Hooks", b"nettwin.v1.Sockets",
                    b"grpc.health.v1.Health"):
        assert service in listed, listed
