/**
 * Password-based key derivation for key files: scrypt (node:crypto) and PBKDF2-HMAC-SHA256. Parameters
 * read from a file are bounded first, so that a hostile file cannot make fleek allocate gigabytes or
 * spin for hours.
 */
import { pbkdf2Sync, scryptSync } from 'node:crypto'

import { scrypt as nobleScrypt } from '@noble/hashes/scrypt.js'

import { FleekError } from '../errors.ts'
import type { ScryptParams } from './types.ts'

/** fleek's own at-rest default: 32 MiB, ~0.1 s. */
export const defaultScryptParams: Readonly<ScryptParams> = { N: 2 ** 15, r: 8, p: 1 }

/** Largest scrypt memory (128·N·r bytes) fleek accepts from a file: 1 GiB (geth's standard is 256 MiB). */
export const MAX_SCRYPT_MEMORY_BYTES = 2 ** 30
/** Largest PBKDF2 iteration count fleek accepts from a file. */
export const MAX_PBKDF2_ITERATIONS = 10_000_000

/** Throws INVALID_INPUT unless N is a power of two ≥ 2, r and p are small positive integers, memory bounded. */
export function assertScryptParams(params: ScryptParams, where: string): void {
  const { N, r, p } = params
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0
  if (!isInt(N) || N < 2 || (N & (N - 1)) !== 0 || N > 2 ** 24) {
    throw new FleekError('INVALID_INPUT', `${where}: scrypt N must be a power of two between 2 and 2^24`)
  }
  if (!isInt(r) || r > 64 || !isInt(p) || p > 64) {
    throw new FleekError('INVALID_INPUT', `${where}: scrypt r and p must be integers between 1 and 64`)
  }
  if (128 * N * r > MAX_SCRYPT_MEMORY_BYTES) {
    throw new FleekError('INVALID_INPUT', `${where}: scrypt parameters need more than 1 GiB of memory`)
  }
}

/**
 * scrypt of a passphrase (UTF-8 bytes given) with the memory limit raised to what the parameters need.
 * node:crypto (OpenSSL) refuses N ≥ 2^(16·r), which RFC 7914 forbids but some keystore files use (the
 * Web3 Secret Storage test vector has N = 2^18, r = 1): those go through @noble/hashes instead.
 */
export function deriveScrypt(
  password: Uint8Array,
  salt: Uint8Array,
  params: ScryptParams,
  keyLength: number,
): Uint8Array {
  const { N, r, p } = params
  const maxmem = 128 * r * (N + p + 2) * 2 + 16 * 2 ** 20
  if (N >= 2 ** Math.min(16 * r, 52))
    return nobleScrypt(password, salt, { N, r, p, dkLen: keyLength, maxmem })
  return new Uint8Array(scryptSync(password, salt, keyLength, { N, r, p, maxmem }))
}

export function assertPbkdf2Iterations(iterations: unknown, where: string): asserts iterations is number {
  if (
    typeof iterations !== 'number' ||
    !Number.isSafeInteger(iterations) ||
    iterations < 1 ||
    iterations > MAX_PBKDF2_ITERATIONS
  ) {
    throw new FleekError(
      'INVALID_INPUT',
      `${where}: PBKDF2 iterations must be between 1 and ${MAX_PBKDF2_ITERATIONS}`,
    )
  }
}

export function derivePbkdf2Sha256(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  keyLength: number,
): Uint8Array {
  return new Uint8Array(pbkdf2Sync(password, salt, iterations, keyLength, 'sha256'))
}

/** The bytes of a passphrase: UTF-8 of its NFKC form, so that the same typed text always gives the same key. */
export function passphraseBytes(passphrase: string): Uint8Array {
  return new TextEncoder().encode(passphrase.normalize('NFKC'))
}
