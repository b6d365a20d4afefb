/**
 * @file virtgrpc.h
 * @brief virtgrpc's C client, everything in one include.
 *
 * The connection and generic calls (vg-client.h), one typed function per RPC
 * (vg-client-gen.h, generated) and the protobuf-c message types of every .proto file
 * (`virtgrpc/v1/<file>.pb-c.h`, documented by the .proto comments).
 *
 * Include it as <virtgrpc/virtgrpc.h>. Installed: `pkg-config --cflags --libs
 * virtgrpc`; in this repository, depend on //client:virtgrpc.
 */
#pragma once

#include <virtgrpc/vg-client.h>
#include <virtgrpc/vg-client-gen.h>
