/**
 * The `flk_*` JSON-RPC methods: every query of the chain state, and `flk_send_txn`. Byte strings are
 * hex, node keys base58, amounts decimal strings of base units (FLK 18 decimals, stablecoin 6).
 */
import { FleekError } from '../../lib/errors.ts'
import { formatNodeKey, parseNodeKey, parseTxHash } from '../../lib/ids.ts'
import { normalizeAddress } from '../../lib/tx/index.ts'
import { STATE_TABLES, type NodeInfo, type Receipt, type StateTable } from '../application/index.ts'
import type { NodeApi } from './api.ts'
import { type RpcMethods, intParam, method, optionalStringParam, param, stringParam } from './server.ts'
import { toHex } from '../../lib/bytes.ts'

const hex = toHex

/** bigint → decimal string, Uint8Array → hex, recursively. */
export function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return hex(value)
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v)
    return out
  }
  return value
}

export function nodeJson(n: NodeInfo): Record<string, unknown> {
  return { ...(toJson(n) as Record<string, unknown>), publicKey: formatNodeKey(n.publicKey) }
}

export function receiptJson(r: Receipt): Record<string, unknown> {
  const out = toJson(r) as Record<string, unknown>
  if (r.sender !== undefined && 'node' in r.sender) out.sender = { node: formatNodeKey(r.sender.node) }
  return out
}

const address = (raw: unknown, i: number): string => normalizeAddress(stringParam(raw, i, 'address'))
const nodeKey = (raw: unknown, i: number): Uint8Array => parseNodeKey(stringParam(raw, i, 'node'))
const optionalEpoch = (raw: unknown, i: number): number | undefined =>
  param(raw, i, 'epoch') === undefined ? undefined : intParam(raw, i, 'epoch')
const none = (): undefined => undefined

const MAX_WAIT_MS = 60_000

export function createRpcMethods(node: NodeApi): RpcMethods {
  const app = node.chain
  const mustNode = (key: Uint8Array): NodeInfo => {
    const info = app.node(key)
    if (info === undefined) throw new FleekError('NOT_FOUND', `no node ${formatNodeKey(key)} in the registry`)
    return info
  }
  return {
    flk_ping: method(none, () => 'pong'),
    flk_chain_id: method(none, () => app.chainId()),
    flk_get_status: method(none, () => node.status()),
    flk_get_offenders: method(none, () =>
      node.offenders().map((o) => ({ ...o, peer: formatNodeKey(Buffer.from(o.peer, 'hex')) })),
    ),
    flk_get_checkpoint: method(
      (p) => optionalEpoch(p, 0),
      (epoch) => {
        const c = node.checkpoint(epoch)
        if (c === undefined)
          throw new FleekError(
            'NOT_FOUND',
            epoch === undefined
              ? 'this node holds no checkpoint yet'
              : `this node holds no checkpoint of epoch ${epoch}`,
          )
        return {
          epoch: c.epoch,
          height: c.height,
          index: c.index,
          stateRoot: hex(c.stateRoot),
          parcel: hex(c.parcel),
          nextCommittee: hex(c.nextCommittee),
          snapshotBytes: c.snapshotBytes,
          snapshotHash: hex(c.snapshotHash),
          signers: [...c.signers].flatMap((byte, i) =>
            [0, 1, 2, 3, 4, 5, 6, 7].filter((b) => (byte & (1 << b)) !== 0).map((b) => i * 8 + b),
          ),
          signature: hex(c.signature),
        }
      },
    ),
    flk_get_balance: method(
      (p) => address(p, 0),
      (a) => {
        const acc = app.account(a)
        return { address: a, flk: acc.flk.toString(), usd: acc.usd.toString() }
      },
    ),
    flk_get_account: method(
      (p) => address(p, 0),
      (a) => ({ address: a, ...(toJson(app.account(a)) as object) }),
    ),
    flk_get_node_info: method(
      (p) => nodeKey(p, 0),
      (k) => nodeJson(mustNode(k)),
    ),
    flk_get_node_registry: method(none, () => app.nodes().map(nodeJson)),
    flk_get_committee: method(
      (p) => optionalEpoch(p, 0),
      (epoch) => {
        const c = app.committee(epoch)
        if (c === undefined) throw new FleekError('NOT_FOUND', `no committee recorded for epoch ${epoch}`)
        return {
          ...(toJson(c) as object),
          members: c.members.map(formatNodeKey),
          readyToChange: c.readyToChange.map(formatNodeKey),
        }
      },
    ),
    flk_get_epoch_info: method(none, () => {
      const e = app.epochInfo()
      return {
        ...(toJson(e) as object),
        committee: e.committee.map(formatNodeKey),
        readyToChange: e.readyToChange.map(formatNodeKey),
      }
    }),
    flk_get_protocol_params: method(none, () => app.params()),
    flk_get_supply: method(none, () => toJson(app.supply())),
    flk_get_reputation: method(
      (p) => nodeKey(p, 0),
      (k) => toJson(app.reputation(k)),
    ),
    flk_get_latencies: method(none, () =>
      app.latencies().map((l) => ({ a: formatNodeKey(l.a), b: formatNodeKey(l.b), latencyMs: l.latencyMs })),
    ),
    flk_get_served: method(
      (p) => optionalEpoch(p, 0),
      (epoch) => {
        const s = app.served(epoch)
        return {
          ...(toJson(s) as object),
          nodes: s.nodes.map((n) => ({ ...(toJson(n) as object), node: formatNodeKey(n.node) })),
        }
      },
    ),
    flk_get_services: method(none, () => toJson(app.services())),
    flk_get_state_root: method(none, () => ({ height: app.height(), stateRoot: hex(app.stateRoot()) })),
    flk_get_state_proof: method(
      (p) => {
        const table = stringParam(p, 0, 'table')
        if (!(STATE_TABLES as readonly string[]).includes(table))
          throw new FleekError('INVALID_INPUT', `table must be one of ${STATE_TABLES.join(', ')}`)
        const key = param(p, 1, 'key')
        if (typeof key !== 'string' && typeof key !== 'number')
          throw new FleekError('INVALID_INPUT', 'key must be a string or a number')
        return { table: table as StateTable, key }
      },
      ({ table, key }) => {
        const k =
          table === 'nodes' && typeof key === 'string' && !/^[0-9a-f]{64}$/.test(key)
            ? hex(parseNodeKey(key))
            : key
        return toJson(app.stateProof(table, k))
      },
    ),
    flk_get_receipt: method(
      (p) => parseTxHash(stringParam(p, 0, 'hash')),
      (h) => {
        const r = app.receipt(h)
        if (r === undefined)
          throw new FleekError('NOT_FOUND', `no receipt for ${h} (not executed yet, or unknown)`)
        return receiptJson(r)
      },
    ),
    flk_wait_receipt: method(
      (p) => ({
        hash: parseTxHash(stringParam(p, 0, 'hash')),
        timeoutMs: Math.min(intParam(p, 1, 'timeoutMs', 30_000), MAX_WAIT_MS),
      }),
      async ({ hash, timeoutMs }, { signal }) => {
        const r = await node.waitForReceipt(hash, timeoutMs, signal)
        if (r === undefined) throw new FleekError('TIMEOUT', `no receipt for ${hash} within ${timeoutMs} ms`)
        return receiptJson(r)
      },
    ),
    flk_get_block: method(
      (p) => intParam(p, 0, 'height'),
      (h) => {
        const b = app.block(h)
        if (b === undefined)
          throw new FleekError('NOT_FOUND', `no block at height ${h} (the chain is at ${app.height()})`)
        return toJson(b)
      },
    ),
    flk_send_txn: method(
      (p) => {
        const text = stringParam(p, 0, 'tx').replace(/^0x/, '')
        if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text))
          throw new FleekError('INVALID_INPUT', 'tx must be the hex of an encoded signed transaction')
        return Uint8Array.from(Buffer.from(text, 'hex'))
      },
      (bytes) => node.submit(bytes),
    ),
    flk_get_nonce: method(
      (p) => ({ address: optionalStringParam(p, 0, 'address'), node: optionalStringParam(p, 1, 'node') }),
      ({ address: a, node: n }) => {
        if (a !== undefined) return app.account(normalizeAddress(a)).nonce
        if (n !== undefined) return app.node(parseNodeKey(n))?.nonce ?? 0
        throw new FleekError('INVALID_INPUT', 'give an address or a node key')
      },
    ),
  }
}
