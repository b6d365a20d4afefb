/*
 * virtgrpc's C client, everything in one include: the connection and generic calls
 * (vg-client.h), one typed function per RPC (vg-client-gen.h, generated) and the
 * protobuf-c message types of every .proto file. Link //client:virtgrpc.
 *
 * Include it as <virtgrpc/virtgrpc.h>; inside this repository "client/virtgrpc.h"
 * works too.
 */
#pragma once

#include "client/vg-client.h"
#include "client/vg-client-gen.h"
