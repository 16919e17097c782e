/** The few DER (X.690) encoders the encrypted PKCS#8 export needs. Definite lengths, minimal forms. */
import { concatBytes } from './bytes.ts'

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length)
  const bytes: number[] = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

export function encodeDerTlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const content = concatBytes(...contents)
  return concatBytes(Uint8Array.of(tag), encodeLength(content.length), content)
}

export function encodeDerSequence(...contents: Uint8Array[]): Uint8Array {
  return encodeDerTlv(0x30, ...contents)
}

export function encodeDerOctetString(bytes: Uint8Array): Uint8Array {
  return encodeDerTlv(0x04, bytes)
}

/** A non-negative INTEGER. */
export function encodeDerInteger(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError('DER integer must be a safe non-negative integer')
  const bytes: number[] = []
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff)
  if (bytes.length === 0 || bytes[0] >= 0x80) bytes.unshift(0)
  return encodeDerTlv(0x02, Uint8Array.from(bytes))
}

/** An OBJECT IDENTIFIER from its encoded content bytes in hex. */
export function encodeDerOid(contentHex: string): Uint8Array {
  return encodeDerTlv(0x06, Uint8Array.from(Buffer.from(contentHex, 'hex')))
}

export const DER_NULL = Uint8Array.of(0x05, 0x00)
