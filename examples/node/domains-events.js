#!/usr/bin/env node
// virtgrpc from Node.js: list domains, destroy/start one, watch its lifecycle events, and read
// the google.rpc.ErrorInfo of a failed call.
//
//   (cd examples/node && npm ci)
//   node examples/node/domains-events.js 127.0.0.1:50051 test
//
// Loads the .proto files from proto/ at run time (@grpc/proto-loader); exits non-zero unless
// every step saw what it expects (the Bazel test relies on that).
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const PROTO_DIR = process.env.VIRTGRPC_PROTO_DIR || path.join(__dirname, '..', '..', 'proto');
const TIMEOUT_MS = 10000;

function fail(msg) {
  console.error('FAIL:', msg);
  process.exit(1);
}

const definition = protoLoader.loadSync(
  ['virtgrpc/v1/domain.proto', 'virtgrpc/v1/events.proto'],
  { includeDirs: [PROTO_DIR], keepCase: true, enums: String, longs: String, defaults: true, oneofs: true });
const v1 = grpc.loadPackageDefinition(definition).virtgrpc.v1;

// google.rpc.Status and ErrorInfo with protobufjs itself (proto-loader's dependency): the
// grpc-status-details-bin trailer is a serialized Status whose details are Any-packed.
const rpcTypes = new protobuf.Root();
rpcTypes.resolvePath = (origin, target) => path.join(PROTO_DIR, target);
rpcTypes.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const Status = rpcTypes.lookupType('google.rpc.Status');
const ErrorInfo = rpcTypes.lookupType('google.rpc.ErrorInfo');

function errorInfo(err) {
  const [details] = err.metadata ? err.metadata.get('grpc-status-details-bin') : [];
  if (!details) return null;
  const status = Status.decode(details);
  const any = status.details.find((d) => d.type_url.endsWith('/google.rpc.ErrorInfo'));
  return any ? ErrorInfo.toObject(ErrorInfo.decode(any.value)) : null;
}

const deadline = () => ({ deadline: Date.now() + TIMEOUT_MS });
const unary = (client, method, request) => new Promise((resolve, reject) =>
  client[method](request, deadline(), (err, response) => (err ? reject(err) : resolve(response))));

// Resolves with the next message of `kind` (a DomainEvent oneof case) on the stream.
function nextEvent(stream, kind) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${kind} event within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const onData = (event) => {
      if (event.event !== kind) return;
      clearTimeout(timer);
      stream.off('data', onData);
      resolve(event);
    };
    stream.on('data', onData);
  });
}

async function main() {
  const [address, name] = process.argv.slice(2);
  if (!address || !name) fail('usage: domains-events.js HOST:PORT DOMAIN');
  const credentials = grpc.credentials.createInsecure();
  const domains = new v1.DomainService(address, credentials);
  const events = new v1.EventService(address, credentials);
  const ref = { name };

  // 1. List.
  const listing = await unary(domains, 'ListDomains', {});
  for (const d of listing.domains) {
    console.log(`domain ${d.name} uuid=${d.uuid} id=${d.id} state=${d.state.state}`);
  }
  if (!listing.domains.some((d) => d.name === name)) fail(`${name} not in ListDomains`);

  // 2. Watch: the first message is the current listing.
  const stream = events.WatchEvents({ domains: [ref] });
  stream.on('error', (err) => {
    if (err.code !== grpc.status.CANCELLED) fail(`event stream: ${err.message}`);
  });
  const current = await nextEvent(stream, 'current_domains');
  console.log('watch: current_domains',
    current.current_domains.domains.map((d) => `${d.name}=${d.state.state}`).join(' '));

  // 3. Destroy and start it again; each change arrives as a lifecycle event. Listen before
  //    calling so that an event arriving with the reply is not missed.
  let next = nextEvent(stream, 'lifecycle');
  let d = await unary(domains, 'DestroyDomain', { domain: ref });
  console.log(`destroyed ${d.name}: state=${d.state.state}`);
  let ev = await next;
  console.log('watch: lifecycle', ev.lifecycle.type, 'for', ev.domain.name);
  if (ev.lifecycle.type !== 'LIFECYCLE_EVENT_TYPE_STOPPED') fail('expected STOPPED after DestroyDomain');

  next = nextEvent(stream, 'lifecycle');
  d = await unary(domains, 'StartDomain', { domain: ref });
  console.log(`started ${d.name}: state=${d.state.state}`);
  if (d.state.state !== 'DOMAIN_STATE_RUNNING') fail('StartDomain did not leave the domain running');
  ev = await next;
  console.log('watch: lifecycle', ev.lifecycle.type, 'for', ev.domain.name);
  if (ev.lifecycle.type !== 'LIFECYCLE_EVENT_TYPE_STARTED') fail('expected STARTED after StartDomain');
  stream.cancel();

  // 4. An error: the status code plus libvirt's error in google.rpc.ErrorInfo.
  try {
    await unary(domains, 'GetDomain', { domain: { name: 'no-such-domain' } });
    fail('GetDomain(no-such-domain) succeeded');
  } catch (err) {
    const info = errorInfo(err);
    console.log(`error: ${grpc.status[err.code]}: ${err.details}`);
    if (!info) fail('no google.rpc.ErrorInfo in grpc-status-details-bin');
    console.log(`error info: reason=${info.reason} domain=${info.domain} metadata=${JSON.stringify(info.metadata)}`);
    if (err.code !== grpc.status.NOT_FOUND || !info.reason) fail('expected NOT_FOUND with an ErrorInfo reason');
  }
  domains.close();
  events.close();
  console.log('OK');
}

main().catch((err) => fail(err.stack || err));
