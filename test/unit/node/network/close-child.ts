// Run as a child process by test/integration/network-close.test.ts: two nodes (one with WebSockets)
// connect, exchange a request and gossip, close; then it prints the handles left alive as one JSON line.
// The parent checks that none is a socket, server or timer, and that this process exits by itself.
import './fixtures.ts'

import { Network } from '../../../../src/node/network/index.ts'
import { makeNodeKey, waitFor } from './fixtures.ts'

const ka = makeNodeKey('close-a')
const kb = makeNodeKey('close-b')
const committee = [ka.publicKey, kb.publicKey]
const controller = new AbortController()
const a = await Network.start(
  { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'] },
  { nodeKey: { secret: ka.seed }, committee },
  controller.signal,
)
a.attachConsensus({ handleMessage: async () => {}, handleRequest: async (_from, bytes) => bytes })
const b = await Network.start(
  {},
  {
    nodeKey: { secret: kb.seed },
    committee,
    registry: [{ publicKey: ka.publicKey, multiaddrs: a.addresses() }],
  },
  controller.signal,
)
await waitFor(() => a.isConnected(kb.peerKey) && b.isConnected(ka.peerKey), 20_000, 'a and b connected')
await b.request(ka.peerKey, Uint8Array.of(1), AbortSignal.timeout(15_000))
b.broadcast(Uint8Array.of(2))
await b.publish('fleek/test/close', Uint8Array.of(3))
// Abort the shared signal (as the node does on SIGTERM) and wait for both closes.
controller.abort()
await Promise.all([a.close(), b.close()])
// A 20 ms horizon: libp2p's queues arm 1 ms debounce timers as they drain, which are due at once and
// are not leftovers; what close() must not leave is anything longer-lived (sockets, servers, timers).
await new Promise((resolve) => setTimeout(resolve, 20))
process.stdout.write(
  JSON.stringify({ closed: a.closed && b.closed, resources: process.getActiveResourcesInfo() }) + '\n',
)
