import * as dagCbor from '@ipld/dag-cbor'
import { FleekError } from '../errors.ts'
import type { Token } from '../amount.ts'
import {
  COMMODITY_TYPES,
  MAX_AMOUNT,
  MAX_CONTENT_UPDATES_PER_TX,
  MAX_DELIVERY_PROOFS_PER_TX,
  MAX_MEASUREMENTS_PER_TX,
  MAX_TRANSACTION_BYTES,
  MEASUREMENT_FIELDS,
  METHOD_NAMES,
  PARAM_NAMES,
  PORT_NAMES,
  type CommodityType,
  type MethodCall,
  type MethodName,
  type NodePorts,
  type ParamName,
  type ReputationMeasurement,
  type Sender,
  type Transaction,
  type TransactionPayload,
} from './types.ts'
import { equalBytes } from '../bytes.ts'

/**
 * Deterministic DAG-CBOR encoding of transactions. Amounts travel as decimal strings of base units
 * (CBOR integers stop at 2^64); optional fields are omitted when absent. Decoding is strict: the bytes
 * must be canonical DAG-CBOR, every field must have the right type and bounds, and unknown fields are
 * refused — anything else throws FleekError INVALID_INPUT.
 */

type CborValue = unknown

/** Encodes the payload as canonical DAG-CBOR: the bytes the digest is computed over. */
export function encodePayload(payload: TransactionPayload): Uint8Array {
  const cborable = toCborable(payload)
  readPayload(cborable)
  return dagCbor.encode(cborable)
}

export function encodeTransaction(tx: Transaction): Uint8Array {
  const cborable = { payload: toCborable(tx.payload), signature: tx.signature }
  readTransaction(cborable)
  return dagCbor.encode(cborable)
}

export function decodeTransaction(bytes: Uint8Array): Transaction {
  if (!(bytes instanceof Uint8Array)) throw invalid('transaction must be bytes')
  if (bytes.length > MAX_TRANSACTION_BYTES) {
    throw invalid(`transaction is ${bytes.length} bytes, more than the ${MAX_TRANSACTION_BYTES} allowed`)
  }
  let value: CborValue
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'transaction is not valid DAG-CBOR', { cause: err })
  }
  const tx = readTransaction(value)
  // Canonical form only: one transaction, one byte string.
  if (!equalBytes(dagCbor.encode(value), bytes)) throw invalid('transaction is not canonical DAG-CBOR')
  return tx
}

/**
 * Decodes a transaction as decodeTransaction does, and returns beside it its payload's encoding as found
 * inside `bytes`. A canonical transaction is the map {payload, signature}, "payload" first (shorter key),
 * so the canonical encoding of its payload — what the digest is computed over — is a slice of it:
 * `a2 67 "payload" <payload> 69 "signature" 58 <40|41> <signature>`. No second encoding is needed.
 */
export function decodeTransactionParts(bytes: Uint8Array): { tx: Transaction; payloadBytes: Uint8Array } {
  const tx = decodeTransaction(bytes)
  const tailLength = SIGNATURE_KEY.length + 2 + tx.signature.length
  const end = bytes.length - tailLength
  if (
    end <= PAYLOAD_KEY.length ||
    !equalBytes(bytes.subarray(0, PAYLOAD_KEY.length), PAYLOAD_KEY) ||
    !equalBytes(bytes.subarray(end, end + SIGNATURE_KEY.length), SIGNATURE_KEY)
  ) {
    // Unreachable for bytes that decoded (they are canonical); encoding again is the safe answer.
    return { tx, payloadBytes: encodePayload(tx.payload) }
  }
  return { tx, payloadBytes: bytes.subarray(PAYLOAD_KEY.length, end) }
}

/** A map of two entries, then the text "payload" (0x67: text of 7 bytes). */
const PAYLOAD_KEY = Uint8Array.of(0xa2, 0x67, ...new TextEncoder().encode('payload'))
/** The text "signature" (0x69: text of 9 bytes). */
const SIGNATURE_KEY = Uint8Array.of(0x69, ...new TextEncoder().encode('signature'))

/** Converts to the IPLD data model: bigint → decimal string, undefined fields dropped. */
function toCborable(value: unknown): CborValue {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value)) return value.map(toCborable)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, CborValue> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toCborable(v)
    return out
  }
  return value
}

function readTransaction(value: CborValue): Transaction {
  const map = readMap(value, 'transaction', ['payload', 'signature'], [])
  const payload = readPayload(map.payload)
  const signature = readBytes(map.signature, 'signature')
  const expected = 'account' in payload.sender ? 65 : 64
  if (signature.length !== expected) {
    throw invalid(`signature must be ${expected} bytes for this sender, not ${signature.length}`)
  }
  return { payload, signature }
}

function readPayload(value: CborValue): TransactionPayload {
  const map = readMap(value, 'payload', ['sender', 'nonce', 'chainId', 'method', 'args'], [])
  const sender = readSender(map.sender)
  const nonce = readUint(map.nonce, 'payload.nonce')
  const chainId = readUint(map.chainId, 'payload.chainId', 0xffff_ffff)
  const method = readEnum(map.method, 'payload.method', METHOD_NAMES)
  const call = readArgs(method, map.args)
  return { sender, nonce, chainId, ...call } as TransactionPayload
}

function readSender(value: CborValue): Sender {
  const map = readMap(value, 'payload.sender', [], ['account', 'node'])
  const keys = Object.keys(map)
  if (keys.length !== 1) throw invalid('payload.sender must be {account} or {node}')
  if (keys[0] === 'account') return { account: readAddress(map.account, 'payload.sender.account') }
  return { node: readBytes(map.node, 'payload.sender.node', 32) }
}

function readArgs(method: MethodName, value: CborValue): MethodCall {
  const p = `args`
  switch (method) {
    case 'Transfer': {
      const a = readMap(value, p, ['to', 'token', 'amount'], [])
      return {
        method,
        args: {
          to: readAddress(a.to, `${p}.to`),
          token: readEnum<Token>(a.token, `${p}.token`, ['flk', 'usd']),
          amount: readAmount(a.amount, `${p}.amount`),
        },
      }
    }
    case 'Stake': {
      const a = readMap(value, p, ['amount', 'node'], ['consensusKey', 'consensusKeyProof', 'host', 'ports'])
      if ((a.consensusKey === undefined) !== (a.consensusKeyProof === undefined)) {
        throw invalid(`${p}.consensusKeyProof must come with ${p}.consensusKey, and only with it`)
      }
      return {
        method,
        args: {
          amount: readAmount(a.amount, `${p}.amount`),
          node: readBytes(a.node, `${p}.node`, 32),
          ...(a.consensusKey !== undefined && {
            consensusKey: readBytes(a.consensusKey, `${p}.consensusKey`, 48),
          }),
          ...(a.consensusKeyProof !== undefined && {
            consensusKeyProof: readBytes(a.consensusKeyProof, `${p}.consensusKeyProof`, 96),
          }),
          ...(a.host !== undefined && { host: readHost(a.host, `${p}.host`) }),
          ...(a.ports !== undefined && { ports: readPorts(a.ports, `${p}.ports`) }),
        },
      }
    }
    case 'StakeLock': {
      const a = readMap(value, p, ['node', 'lockedForEpochs'], [])
      return {
        method,
        args: {
          node: readBytes(a.node, `${p}.node`, 32),
          lockedForEpochs: readUint(a.lockedForEpochs, `${p}.lockedForEpochs`),
        },
      }
    }
    case 'Unstake': {
      const a = readMap(value, p, ['node', 'amount'], [])
      return {
        method,
        args: { node: readBytes(a.node, `${p}.node`, 32), amount: readAmount(a.amount, `${p}.amount`) },
      }
    }
    case 'WithdrawUnstaked': {
      const a = readMap(value, p, ['node'], ['recipient'])
      return {
        method,
        args: {
          node: readBytes(a.node, `${p}.node`, 32),
          ...(a.recipient !== undefined && { recipient: readAddress(a.recipient, `${p}.recipient`) }),
        },
      }
    }
    case 'OptIn':
    case 'OptOut':
    case 'IncrementNonce':
      readMap(value, p, [], [])
      return { method, args: {} }
    case 'ChangeEpoch': {
      const a = readMap(value, p, ['epoch'], [])
      return { method, args: { epoch: readUint(a.epoch, `${p}.epoch`) } }
    }
    case 'CommitteeBeaconCommit': {
      const a = readMap(value, p, ['epoch', 'round', 'commit'], [])
      return {
        method,
        args: {
          epoch: readUint(a.epoch, `${p}.epoch`),
          round: readUint(a.round, `${p}.round`),
          commit: readBytes(a.commit, `${p}.commit`, 32),
        },
      }
    }
    case 'CommitteeBeaconReveal': {
      const a = readMap(value, p, ['epoch', 'round', 'reveal'], [])
      return {
        method,
        args: {
          epoch: readUint(a.epoch, `${p}.epoch`),
          round: readUint(a.round, `${p}.round`),
          reveal: readBytes(a.reveal, `${p}.reveal`, 32),
        },
      }
    }
    case 'CommitteeBeaconTimeout': {
      const a = readMap(value, p, ['epoch', 'round'], [])
      return {
        method,
        args: { epoch: readUint(a.epoch, `${p}.epoch`), round: readUint(a.round, `${p}.round`) },
      }
    }
    case 'SubmitReputationMeasurements': {
      const a = readMap(value, p, ['measurements'], [])
      const list = readArray(a.measurements, `${p}.measurements`, MAX_MEASUREMENTS_PER_TX)
      return {
        method,
        args: { measurements: list.map((m, i) => readMeasurement(m, `${p}.measurements[${i}]`)) },
      }
    }
    case 'SubmitDeliveryAcknowledgmentAggregation': {
      const a = readMap(value, p, ['serviceId', 'commodity', 'proofs'], ['metadata'])
      const proofs = readArray(a.proofs, `${p}.proofs`, MAX_DELIVERY_PROOFS_PER_TX)
      return {
        method,
        args: {
          serviceId: readUint(a.serviceId, `${p}.serviceId`, 0xffff_ffff),
          commodity: readAmount(a.commodity, `${p}.commodity`),
          proofs: proofs.map((x, i) => readBytes(x, `${p}.proofs[${i}]`)),
          ...(a.metadata !== undefined && { metadata: readBytes(a.metadata, `${p}.metadata`) }),
        },
      }
    }
    case 'UpdateContentRegistry': {
      const a = readMap(value, p, ['updates'], [])
      const list = readArray(a.updates, `${p}.updates`, MAX_CONTENT_UPDATES_PER_TX)
      const updates = list.map((u, i) => {
        const m = readMap(u, `${p}.updates[${i}]`, ['uri', 'remove'], [])
        if (typeof m.remove !== 'boolean') throw invalid(`${p}.updates[${i}].remove must be a boolean`)
        return { uri: readBytes(m.uri, `${p}.updates[${i}].uri`, 32), remove: m.remove }
      })
      return { method, args: { updates } }
    }
    case 'AddService': {
      const a = readMap(value, p, ['serviceId', 'owner', 'commodityType'], [])
      return {
        method,
        args: {
          serviceId: readUint(a.serviceId, `${p}.serviceId`, 0xffff_ffff),
          owner: readAddress(a.owner, `${p}.owner`),
          commodityType: readEnum<CommodityType>(a.commodityType, `${p}.commodityType`, COMMODITY_TYPES),
        },
      }
    }
    case 'ChangeProtocolParam': {
      const a = readMap(value, p, ['param', 'value'], [])
      return {
        method,
        args: {
          param: readEnum<ParamName>(a.param, `${p}.param`, PARAM_NAMES),
          value: readUint(a.value, `${p}.value`),
        },
      }
    }
    case 'Faucet': {
      const a = readMap(value, p, ['token', 'amount'], [])
      return {
        method,
        args: {
          token: readEnum<Token>(a.token, `${p}.token`, ['flk', 'usd']),
          amount: readAmount(a.amount, `${p}.amount`),
        },
      }
    }
  }
}

function readMeasurement(value: CborValue, path: string): ReputationMeasurement {
  const m = readMap(value, path, ['node'], MEASUREMENT_FIELDS)
  const out: ReputationMeasurement = { node: readBytes(m.node, `${path}.node`, 32) }
  for (const field of MEASUREMENT_FIELDS) {
    if (m[field] !== undefined) out[field] = readUint(m[field], `${path}.${field}`)
  }
  if (out.uptimePercent !== undefined && out.uptimePercent > 100)
    throw invalid(`${path}.uptimePercent must be ≤ 100`)
  return out
}

function readPorts(value: CborValue, path: string): NodePorts {
  const m = readMap(value, path, PORT_NAMES, [])
  const ports = {} as NodePorts
  for (const name of PORT_NAMES) ports[name] = readUint(m[name], `${path}.${name}`, 65535)
  return ports
}

// ---- primitive readers -------------------------------------------------------------------------

function invalid(message: string): FleekError {
  return new FleekError('INVALID_INPUT', message)
}

function readMap(
  value: CborValue,
  path: string,
  required: readonly string[],
  optional: readonly string[],
): Record<string, CborValue> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalid(`${path} must be a map`)
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) throw invalid(`${path} must be a map`)
  const map = value as Record<string, CborValue>
  for (const key of Object.keys(map)) {
    if (!required.includes(key) && !optional.includes(key))
      throw invalid(`${path} has an unknown field "${key}"`)
  }
  for (const key of required) if (map[key] === undefined) throw invalid(`${path}.${key} is missing`)
  return map
}

function readArray(value: CborValue, path: string, max: number): CborValue[] {
  if (!Array.isArray(value)) throw invalid(`${path} must be a list`)
  if (value.length > max) throw invalid(`${path} has ${value.length} entries, more than the ${max} allowed`)
  return value
}

function readUint(value: CborValue, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalid(`${path} must be an integer from 0 to ${max}`)
  }
  return value
}

function readBytes(value: CborValue, path: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(`${path} must be bytes`)
  if (length !== undefined && value.length !== length) throw invalid(`${path} must be ${length} bytes`)
  return value
}

function readEnum<T extends string>(value: CborValue, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`${path} must be one of ${allowed.join(', ')}`)
  }
  return value as T
}

const AMOUNT_PATTERN = /^(0|[1-9][0-9]{0,38})$/

function readAmount(value: CborValue, path: string): bigint {
  if (typeof value !== 'string' || !AMOUNT_PATTERN.test(value)) {
    throw invalid(`${path} must be a decimal string of base units`)
  }
  const amount = BigInt(value)
  if (amount > MAX_AMOUNT) throw invalid(`${path} is larger than 2^128 − 1`)
  return amount
}

const ADDRESS_PATTERN = /^0x[0-9a-f]{40}$/

function readAddress(value: CborValue, path: string): string {
  if (typeof value !== 'string' || !ADDRESS_PATTERN.test(value)) {
    throw invalid(`${path} must be a lowercase 0x address of 40 hex digits`)
  }
  return value
}

const HOST_PATTERN = /^[A-Za-z0-9.:\-[\]]{1,253}$/

function readHost(value: CborValue, path: string): string {
  if (typeof value !== 'string' || !HOST_PATTERN.test(value)) {
    throw invalid(`${path} must be a host name or an IP address`)
  }
  return value
}
