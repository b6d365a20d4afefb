"""What deploy/README.md promises a client of the example config, against a running
virtgrpcd (deploy/tests/config-e2e-test.sh starts it):

    deploy_client.py STUBS_DIR CERT_DIR TLS_ADDR HEALTH_ADDR RO_SOCKET

- mutual TLS with the admin certificate (CN admin.virtgrpc.example, [roles] admin)
  lists the domains;
- without a client certificate, and with a certificate of another CA, no call gets
  through;
- the monitoring certificate (read-only role) gets PERMISSION_DENIED for DestroyDomain
  and the domain is still running;
- the plaintext health port answers grpc.health.v1.Health/Check SERVING, and nothing
  else (UNIMPLEMENTED);
- the read-only Unix socket lists domains and refuses DestroyDomain.
Exits 1 on the first broken promise.
"""
import sys

import grpc

sys.path.insert(0, sys.argv[1])
from virtgrpc.v1 import domain_pb2, domain_pb2_grpc  # noqa: E402

certs, tls_addr, health_addr, ro_socket = sys.argv[2:6]
failures = []
checks = 0


def read(name):
    with open(f"{certs}/{name}", "rb") as f:
        return f.read()


def mtls(client):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read("ca.crt"),
        private_key=read(f"{client}.key") if client else None,
        certificate_chain=read(f"{client}.crt") if client else None)
    # The server certificate names localhost; the test dials an IP address.
    return grpc.secure_channel(tls_addr, credentials,
                               options=[("grpc.ssl_target_name_override", "localhost")])


def expect(what, call, code=None):
    global checks
    checks += 1
    try:
        result = call()
    except grpc.RpcError as err:
        if code is not None and err.code() in (code if isinstance(code, tuple) else (code,)):
            print(f"ok: {what}: {err.code().name}")
            return None
        failures.append(f"{what}: {err.code().name} {err.details()}")
        print(f"FAIL: {what}: {err.code().name} {err.details()}")
        return None
    if code is not None:
        failures.append(f"{what}: succeeded, expected {code}")
        print(f"FAIL: {what}: succeeded, expected {code}")
        return None
    print(f"ok: {what}")
    return result


def domains(channel):
    return domain_pb2_grpc.DomainServiceStub(channel)


def state(channel):
    return domains(channel).GetDomainState(
        domain_pb2.GetDomainStateRequest(domain=domain_pb2.DomainRef(name="test")), timeout=5)


listing = expect("mTLS admin ListDomains", lambda: domains(mtls("admin")).ListDomains(
    domain_pb2.ListDomainsRequest(), timeout=5))
if listing is not None and [d.name for d in listing.domains] != ["test"]:
    failures.append(f"admin listing: {listing}")

expect("TLS without a client certificate", lambda: domains(mtls(None)).ListDomains(
    domain_pb2.ListDomainsRequest(), timeout=3), grpc.StatusCode.UNAVAILABLE)
expect("a client certificate of another CA", lambda: domains(mtls("stranger")).ListDomains(
    domain_pb2.ListDomainsRequest(), timeout=3), grpc.StatusCode.UNAVAILABLE)

before = state(mtls("admin"))
expect("read-only certificate DestroyDomain", lambda: domains(mtls("monitoring")).DestroyDomain(
    domain_pb2.DestroyDomainRequest(domain=domain_pb2.DomainRef(name="test")), timeout=5),
    grpc.StatusCode.PERMISSION_DENIED)
after = state(mtls("admin"))
if after != before:
    failures.append(f"the denied DestroyDomain changed the domain: {before} -> {after}")

health = grpc.insecure_channel(health_addr)
check = health.unary_unary("/grpc.health.v1.Health/Check",
                           request_serializer=lambda _: b"", response_deserializer=bytes)
answer = expect("plaintext Health/Check on the health port", lambda: check(None, timeout=3))
if answer is not None and answer != b"\x08\x01":
    failures.append(f"health answered {answer.hex()}, not SERVING (0801)")
expect("ListDomains on the health port", lambda: domains(health).ListDomains(
    domain_pb2.ListDomainsRequest(), timeout=3), grpc.StatusCode.UNIMPLEMENTED)

ro = grpc.insecure_channel(f"unix:{ro_socket}")
expect("ListDomains on the read-only socket", lambda: domains(ro).ListDomains(
    domain_pb2.ListDomainsRequest(), timeout=5))
expect("DestroyDomain on the read-only socket", lambda: domains(ro).DestroyDomain(
    domain_pb2.DestroyDomainRequest(domain=domain_pb2.DomainRef(name="test")), timeout=5),
    grpc.StatusCode.PERMISSION_DENIED)

for failure in failures:
    print("FAIL:", failure)
print(f"deploy client: {checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
