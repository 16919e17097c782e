/**
 * The network's Prometheus metrics, in the registry it is given (no global one):
 *
 * - `fleek_network_received_bytes_total{protocol}`, `fleek_network_sent_bytes_total{protocol}`: frames
 *   on the stream protocols (header included), gossip payloads (`gossip <topic>`, subscribed topics);
 * - `fleek_network_connected_peers`: peers with an open connection;
 * - `fleek_network_strikes_total{reason}`: misbehaviours counted towards a ban;
 * - `fleek_network_bans_total`: peers banned.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

import type { MisbehaviourReason, NetworkMetrics } from './interface.ts'

export function createNetworkMetrics(registry: Registry): NetworkMetrics {
  const registers = [registry]
  const received = new Counter({
    name: 'fleek_network_received_bytes_total',
    help: 'Bytes received, by protocol (stream frames, or gossip payloads as "gossip <topic>").',
    labelNames: ['protocol'],
    registers,
  })
  const sent = new Counter({
    name: 'fleek_network_sent_bytes_total',
    help: 'Bytes sent, by protocol (stream frames, or gossip payloads times their recipients).',
    labelNames: ['protocol'],
    registers,
  })
  const connected = new Gauge({
    name: 'fleek_network_connected_peers',
    help: 'Peers with at least one open connection.',
    registers,
  })
  const strikes = new Counter({
    name: 'fleek_network_strikes_total',
    help: 'Peer misbehaviours counted towards a ban, by reason.',
    labelNames: ['reason'],
    registers,
  })
  const bans = new Counter({
    name: 'fleek_network_bans_total',
    help: 'Peers disconnected and banned for repeated misbehaviour.',
    registers,
  })
  return {
    bytesReceived: (protocol: string, bytes: number) => received.inc({ protocol }, bytes),
    bytesSent: (protocol: string, bytes: number) => {
      if (bytes > 0) sent.inc({ protocol }, bytes)
    },
    connectedPeers: (count: number) => connected.set(count),
    strike: (reason: MisbehaviourReason) => strikes.inc({ reason }),
    ban: () => bans.inc(),
  }
}
