/**
 * Strict reading of DAG-CBOR from peers: the wire formats of parcels, checkpoints and sync requests.
 * Every failure is one INVALID_INPUT line naming the message and the field.
 */
import * as dagCbor from '@ipld/dag-cbor'

import { FleekError } from './errors.ts'

/** Decodes DAG-CBOR; with `canonical`, refuses any encoding but the canonical one (so digests are unique). */
export function decodeDagCbor(bytes: Uint8Array, what: string, { canonical = true } = {}): unknown {
  if (!(bytes instanceof Uint8Array)) throw new FleekError('INVALID_INPUT', `the ${what} is not bytes`)
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', `the ${what} is not valid DAG-CBOR`, { cause: err })
  }
  if (canonical) {
    const again = dagCbor.encode(value)
    if (again.length !== bytes.length || !again.every((b, i) => b === bytes[i]))
      throw new FleekError('INVALID_INPUT', `the ${what} is not canonically encoded`)
  }
  return value
}

/** decodeDagCbor, and the value must be a map. */
export function decodeDagCborMap(
  bytes: Uint8Array,
  what: string,
  options: { canonical?: boolean } = {},
): Record<string, unknown> {
  const value = decodeDagCbor(bytes, what, options)
  if (!isRecord(value)) throw new FleekError('INVALID_INPUT', `the ${what} is not a map`)
  return value
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  )
}

/** The map has exactly these fields (in any order). */
export function checkFields(value: Record<string, unknown>, fields: readonly string[], what: string): void {
  const expected = [...fields].sort()
  const keys = Object.keys(value).sort()
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i]))
    throw new FleekError('INVALID_INPUT', `the ${what} must have exactly the fields ${expected.join(', ')}`)
}

export function readUint(value: unknown, what: string, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new FleekError('INVALID_INPUT', `the ${what}'s ${field} must be a non-negative integer`)
  return value
}

/** Bytes of exactly `length` (any length when undefined). */
export function readBytes(
  value: unknown,
  length: number | undefined,
  what: string,
  field: string,
): Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length))
    throw new FleekError('INVALID_INPUT', `the ${what}'s ${field} must be ${length ?? 'some'} bytes`)
  return value
}
