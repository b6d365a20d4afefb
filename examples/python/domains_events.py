#!/usr/bin/env python3
"""virtgrpc from Python: list domains, destroy/start one, watch its lifecycle events, and
read the google.rpc.ErrorInfo of a failed call.

    examples/python/gen-stubs.sh            # once: generates ./gen
    PYTHONPATH=examples/python/gen python3 examples/python/domains_events.py 127.0.0.1:50051 test

Exits non-zero unless every step saw what it expects (the Bazel test relies on that).
Uses Debian's python3-grpcio and python3-protobuf (no pip).
"""
import queue
import sys
import threading

import grpc
from google.rpc import error_details_pb2, status_pb2
from virtgrpc.v1 import domain_pb2, domain_pb2_grpc, events_pb2, events_pb2_grpc

TIMEOUT = 10  # seconds, for every unary call and for each event we wait for


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def state_name(domain):
    return domain_pb2.DomainState.Name(domain.state.state)


def error_info(err):
    """The google.rpc.ErrorInfo a virtgrpc error carries in its grpc-status-details-bin
    trailer (a serialized google.rpc.Status whose details hold Any-packed messages).
    Debian has no grpc_status module, so decode the trailer with the generated Status."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    return None


def watch(channel, name, events):
    """Runs WatchEvents for one domain, putting every message on `events`."""
    stub = events_pb2_grpc.EventServiceStub(channel)
    request = events_pb2.WatchEventsRequest(domains=[domain_pb2.DomainRef(name=name)])
    stream = stub.WatchEvents(request, timeout=60)
    events.put(("stream", stream))
    try:
        for event in stream:
            events.put(("event", event))
    except grpc.RpcError as err:
        events.put(("end", err.code()))


def next_event(events, kind):
    while True:
        try:
            tag, value = events.get(timeout=TIMEOUT)
        except queue.Empty:
            fail(f"no {kind} event within {TIMEOUT}s")
        if tag == "end":
            fail(f"event stream ended ({value}) before a {kind} event")
        if tag == "event" and value.WhichOneof("event") == kind:
            return value


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: domains_events.py HOST:PORT DOMAIN")
    address, name = sys.argv[1:]
    channel = grpc.insecure_channel(address)
    domains = domain_pb2_grpc.DomainServiceStub(channel)
    ref = domain_pb2.DomainRef(name=name)

    # 1. List.
    listing = domains.ListDomains(domain_pb2.ListDomainsRequest(), timeout=TIMEOUT)
    for d in listing.domains:
        print(f"domain {d.name} uuid={d.uuid} id={d.id} state={state_name(d)}")
    if name not in [d.name for d in listing.domains]:
        fail(f"{name} not in ListDomains")

    # 2. Watch: the first message is the current listing.
    events = queue.Queue()
    threading.Thread(target=watch, args=(channel, name, events), daemon=True).start()
    stream = events.get(timeout=TIMEOUT)[1]
    current = next_event(events, "current_domains")
    print("watch: current_domains", [(d.name, state_name(d)) for d in current.current_domains.domains])

    # 3. Destroy and start it again; each change arrives as a lifecycle event.
    d = domains.DestroyDomain(domain_pb2.DestroyDomainRequest(domain=ref), timeout=TIMEOUT)
    print(f"destroyed {d.name}: state={state_name(d)}")
    ev = next_event(events, "lifecycle")
    print("watch: lifecycle", events_pb2.LifecycleEventType.Name(ev.lifecycle.type), "for", ev.domain.name)
    if ev.lifecycle.type != events_pb2.LIFECYCLE_EVENT_TYPE_STOPPED:
        fail("expected a STOPPED lifecycle event after DestroyDomain")

    d = domains.StartDomain(domain_pb2.StartDomainRequest(domain=ref), timeout=TIMEOUT)
    print(f"started {d.name}: state={state_name(d)}")
    if d.state.state != domain_pb2.DOMAIN_STATE_RUNNING:
        fail("StartDomain did not leave the domain running")
    ev = next_event(events, "lifecycle")
    print("watch: lifecycle", events_pb2.LifecycleEventType.Name(ev.lifecycle.type), "for", ev.domain.name)
    if ev.lifecycle.type != events_pb2.LIFECYCLE_EVENT_TYPE_STARTED:
        fail("expected a STARTED lifecycle event after StartDomain")
    stream.cancel()

    # 4. An error: the status code plus libvirt's error in google.rpc.ErrorInfo.
    try:
        domains.GetDomain(domain_pb2.GetDomainRequest(domain=domain_pb2.DomainRef(name="no-such-domain")),
                          timeout=TIMEOUT)
        fail("GetDomain(no-such-domain) succeeded")
    except grpc.RpcError as err:
        info = error_info(err)
        print(f"error: {err.code().name}: {err.details()}")
        if info is None:
            fail("no google.rpc.ErrorInfo in grpc-status-details-bin")
        print(f"error info: reason={info.reason} domain={info.domain} metadata={dict(info.metadata)}")
        if err.code() != grpc.StatusCode.NOT_FOUND or not info.reason:
            fail("expected NOT_FOUND with an ErrorInfo reason")
    print("OK")


if __name__ == "__main__":
    main()
