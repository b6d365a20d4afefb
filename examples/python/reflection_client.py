#!/usr/bin/env python3
"""A client that knows no .proto file of virtgrpc: like grpcurl, it asks the server's
reflection service (grpc.reflection.v1alpha, what grpcurl uses, or v1) for the services and
their descriptors, builds the message classes at run time and calls a method.

    examples/python/gen-stubs.sh     # once: the reflection protocol's own messages
    python3 examples/python/reflection_client.py 127.0.0.1:50051 v1alpha \\
        virtgrpc.v1.DomainService/ListDomains

Prints the services, then the response as text. Exits non-zero on any failure (no service
list, the method unknown, the call failing).
"""
import importlib.util
import os
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

TIMEOUT = 10
HERE = os.path.dirname(os.path.abspath(__file__))


def reflection_module(version):
    """The generated reflection_pb2 of grpc.reflection.<version>, loaded by file name: it
    cannot be imported as grpc.reflection... since that would shadow the grpc library."""
    gen = os.environ.get("VIRTGRPC_PY_GEN", os.path.join(HERE, "gen"))
    path = os.path.join(gen, "reflection", "grpc", "reflection", version, "reflection_pb2.py")
    spec = importlib.util.spec_from_file_location(f"reflection_{version}_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Reflection:
    """One ServerReflectionInfo stream per question (the protocol is a bidi stream; one
    request, one answer is all a client like this needs)."""

    def __init__(self, channel, version):
        self.pb = reflection_module(version)
        self.call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=self.pb.ServerReflectionRequest.SerializeToString,
            response_deserializer=self.pb.ServerReflectionResponse.FromString,
        )

    def ask(self, **question):
        answer = next(iter(self.call(iter([self.pb.ServerReflectionRequest(**question)]), timeout=TIMEOUT)))
        if answer.HasField("error_response"):
            raise LookupError(f"reflection: {answer.error_response.error_message} "
                              f"(code {answer.error_response.error_code})")
        return answer

    def services(self):
        return [s.name for s in self.ask(list_services="").list_services_response.service]

    def file_set(self, symbol):
        """Every file needed for `symbol`: the answer's files plus any dependency the server
        left out, fetched by name."""
        files = {}
        pending = list(self.ask(file_containing_symbol=symbol).file_descriptor_response.file_descriptor_proto)
        while pending:
            fd = descriptor_pb2.FileDescriptorProto.FromString(pending.pop())
            if fd.name in files:
                continue
            files[fd.name] = fd
            for dep in fd.dependency:
                if dep not in files:
                    pending.extend(self.ask(file_by_filename=dep).file_descriptor_response.file_descriptor_proto)
        return files


def build_pool(files):
    """Adds the files to a fresh pool, each after its dependencies."""
    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name):
        if name in added:
            return
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])
        added.add(name)

    for name in files:
        add(name)
    return pool


def message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: reflection_client.py HOST:PORT v1alpha|v1 package.Service/Method")
    address, version, method_path = sys.argv[1:]
    service_name, method_name = method_path.split("/")
    channel = grpc.insecure_channel(address)
    reflection = Reflection(channel, version)

    services = reflection.services()
    print(f"services ({version}):")
    for s in services:
        print(" ", s)
    if service_name not in services:
        sys.exit(f"FAIL: {service_name} not listed")

    files = reflection.file_set(service_name)
    print(f"descriptors: {len(files)} files for {service_name}")
    pool = build_pool(files)
    method = pool.FindServiceByName(service_name).methods_by_name[method_name]
    request_class = message_class(method.input_type)
    response_class = message_class(method.output_type)

    call = channel.unary_unary(f"/{service_name}/{method_name}",
                               request_serializer=request_class.SerializeToString,
                               response_deserializer=response_class.FromString)
    response = call(request_class(), timeout=TIMEOUT)
    print(f"{method_path} -> {method.output_type.full_name}:")
    print(text_format.MessageToString(response), end="")


if __name__ == "__main__":
    main()
