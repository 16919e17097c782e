/** Shared helpers of the key codec tests. */
import assert from 'node:assert/strict'

import { FleekError, type ErrorCode } from '../../../../src/lib/errors.ts'
import type { ScryptParams, SecretKey } from '../../../../src/lib/keys/index.ts'

/** Cheap scrypt for loops over every byte of a file (never for real keys). */
export const tinyScrypt: ScryptParams = { N: 16, r: 1, p: 1 }
/** Small scrypt for ordinary round trips. */
export const smallScrypt: ScryptParams = { N: 1024, r: 8, p: 1 }

/** Runs `fn` and checks that it throws a FleekError (of `code` when given); returns the error. */
export function expectRefused(fn: () => unknown, code?: ErrorCode, message?: RegExp): FleekError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(
    caught instanceof FleekError,
    `expected a FleekError, got ${caught === undefined ? 'no error' : String(caught)}`,
  )
  if (code !== undefined) assert.equal(caught.code, code, `code of: ${caught.message}`)
  if (message !== undefined) assert.match(caught.message, message)
  assert.ok(!caught.message.includes('\n'), 'error messages are one line')
  return caught
}

const HEX = '0123456789abcdef'
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/**
 * `text` with the character at `index` replaced by a different one of the same class (a hex digit by
 * another hex digit, a base64 letter by another), so that the edit survives parsing where it can and
 * reaches the semantic checks. Other characters get their code point XOR 1.
 */
export function tamperAt(text: string, index: number): string {
  const c = text[index]
  let replacement: string
  if (HEX.includes(c)) replacement = HEX[(HEX.indexOf(c) + 1) % 16]
  else if (BASE64.includes(c)) replacement = BASE64[(BASE64.indexOf(c) + 1) % 64]
  else replacement = String.fromCharCode(c.charCodeAt(0) ^ 1)
  return text.slice(0, index) + replacement + text.slice(index + 1)
}

/** The index range of `needle` in `text` (which must contain it once). */
export function rangeOf(text: string, needle: string): [number, number] {
  const start = text.indexOf(needle)
  assert.ok(start >= 0 && text.indexOf(needle, start + 1) < 0, 'needle must occur exactly once')
  return [start, start + needle.length]
}

/**
 * Tampers every character of `text` in turn: each decode must be refused with a FleekError or give the
 * very same key (an edit of explanatory text, say). Every index in `mustRefuse` ranges must be refused.
 * Returns how many edits were refused.
 */
export function checkEveryTamper(
  text: string,
  decode: (tampered: string) => SecretKey,
  original: SecretKey,
  mustRefuse: readonly [number, number][],
): number {
  let refused = 0
  for (let i = 0; i < text.length; i++) {
    const tampered = tamperAt(text, i)
    let result: SecretKey | undefined
    try {
      result = decode(tampered)
    } catch (err) {
      assert.ok(err instanceof FleekError, `edit at ${i} threw a non-FleekError: ${String(err)}`)
      refused++
      continue
    }
    assert.ok(
      !mustRefuse.some(([a, b]) => i >= a && i < b),
      `edit at ${i} (${JSON.stringify(text[i])}) was accepted`,
    )
    assert.equal(result.kind, original.kind)
    assert.deepEqual(result.secret, original.secret, `edit at ${i} gave another key`)
  }
  return refused
}

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/**
 * The indexes in a PEM text of the base64 characters whose bits all fall in body bytes [fromByte, toByte)
 * (negative values count from the end of the body), as ranges for `checkEveryTamper`.
 */
export function pemBodyRanges(pem: string, fromByte: number, toByte: number): [number, number][] {
  const start = pem.indexOf('\n', pem.indexOf('-----BEGIN')) + 1
  const end = pem.indexOf('-----END')
  const indexes: number[] = []
  for (let i = start; i < end; i++) if (/[A-Za-z0-9+/]/.test(pem[i])) indexes.push(i)
  const bodyLength = Math.floor((indexes.length * 6) / 8)
  const from = fromByte < 0 ? bodyLength + fromByte : fromByte
  const to = toByte <= 0 ? bodyLength + toByte : toByte
  return indexes.flatMap((index, k): [number, number][] => {
    const first = Math.floor((6 * k) / 8)
    const last = Math.floor((6 * k + 5) / 8)
    return first >= from && last < to ? [[index, index + 1]] : []
  })
}
