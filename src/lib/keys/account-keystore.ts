/**
 * The account key's export format: an Ethereum keystore v3 JSON ("Web3 Secret Storage"), as geth writes
 * and MetaMask and other wallets import: scrypt (or PBKDF2-HMAC-SHA256 on import), AES-128-CTR with the
 * first 16 bytes of the derived key, and MAC = keccak-256(derivedKey[16..32] ‖ ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto'

import { keccak_256 } from '@noble/hashes/sha3.js'

import { FleekError } from '../errors.ts'
import { bytesToHex, concatBytes, equalBytes, parseHex, utf8 } from './bytes.ts'
import { assertValidSecret, assertValidSecretKey, derivePublicKey } from './derive.ts'
import { ethAddress } from './eth-address.ts'
import { assertPbkdf2Iterations, assertScryptParams, derivePbkdf2Sha256, deriveScrypt } from './kdf.ts'
import { describeKindWithArticle, type ScryptParams, type SecretKey } from './types.ts'

/** geth's "standard" scrypt cost (256 MiB, about a second): what wallets expect of a keystore file. */
export const defaultKeystoreScryptParams: Readonly<ScryptParams> = { N: 2 ** 18, r: 8, p: 1 }

export interface ExportAccountKeystoreOptions {
  scrypt?: ScryptParams
}

const WHAT = 'the account keystore'

export function exportAccountKeystore(
  key: SecretKey,
  passphrase: string,
  opts: ExportAccountKeystoreOptions = {},
): string {
  assertValidSecretKey(key)
  if (key.kind !== 'account') {
    throw new FleekError(
      'INVALID_INPUT',
      `${describeKindWithArticle(key.kind)} cannot be written as an Ethereum keystore`,
    )
  }
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new FleekError('INVALID_INPUT', 'an Ethereum keystore needs a passphrase, and it is empty')
  }
  const scrypt = opts.scrypt ?? defaultKeystoreScryptParams
  assertScryptParams(scrypt, WHAT)
  const salt = new Uint8Array(randomBytes(32))
  const iv = new Uint8Array(randomBytes(16))
  const derived = deriveScrypt(utf8(passphrase), salt, scrypt, 32)
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
  const ciphertext = new Uint8Array(Buffer.concat([cipher.update(key.secret), cipher.final()]))
  const keystore = {
    address: ethAddress(derivePublicKey(key)).slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: bytesToHex(iv) },
      ciphertext: bytesToHex(ciphertext),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n: scrypt.N, p: scrypt.p, r: scrypt.r, salt: bytesToHex(salt) },
      mac: bytesToHex(keystoreMac(derived, ciphertext)),
    },
    id: randomUUID(),
    version: 3,
  }
  return JSON.stringify(keystore, null, 2) + '\n'
}

/**
 * The account key of a keystore v3 JSON. INVALID_INPUT for anything that is not a version 3 keystore
 * with a supported kdf (scrypt, pbkdf2 with hmac-sha256) and cipher (aes-128-ctr), or whose address
 * does not match its key; BAD_PASSPHRASE when the MAC does not check (wrong passphrase).
 */
export function importAccountKeystore(text: string, passphrase: string | undefined): SecretKey {
  if (typeof text !== 'string' || text.trim().length === 0)
    throw new FleekError('INVALID_INPUT', `${WHAT} is empty`)
  let record: unknown
  try {
    record = JSON.parse(text)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', `${WHAT} is not valid JSON (truncated or corrupted)`, {
      cause: err,
    })
  }
  if (!isRecord(record)) throw new FleekError('INVALID_INPUT', `${WHAT} is not a JSON object`)
  if (record.version !== 3) {
    throw new FleekError(
      'INVALID_INPUT',
      `${WHAT} is not a version 3 keystore (Web3 Secret Storage); version ${typeof record.version === 'number' ? record.version : 'missing'}`,
    )
  }
  const crypto = record.crypto ?? record.Crypto
  if (!isRecord(crypto)) throw new FleekError('INVALID_INPUT', `${WHAT} has no "crypto" section`)
  if (crypto.cipher !== 'aes-128-ctr') {
    throw new FleekError('INVALID_INPUT', `${WHAT} uses an unsupported cipher (only aes-128-ctr is read)`)
  }
  const iv = isRecord(crypto.cipherparams) ? parseHex(crypto.cipherparams.iv, 16, true) : undefined
  const ciphertext = parseHex(crypto.ciphertext, 32, true)
  const mac = parseHex(crypto.mac, 32, true)
  if (iv === undefined || ciphertext === undefined || mac === undefined) {
    throw new FleekError(
      'INVALID_INPUT',
      `${WHAT} is corrupted: iv, ciphertext or mac has the wrong length or is not hex`,
    )
  }
  const deriveKey = readKdf(crypto)
  if (typeof passphrase !== 'string') {
    throw new FleekError(
      'BAD_PASSPHRASE',
      `${WHAT} is encrypted: give its passphrase (FLEEK_KEY_PASSPHRASE, --passphrase-file, or the prompt)`,
    )
  }
  // geth uses the passphrase's bytes as typed; ethers its NFKC form. Try both when they differ.
  const candidates = [passphrase, passphrase.normalize('NFKC')].filter((p, i, all) => all.indexOf(p) === i)
  const derived = candidates
    .map((p) => deriveKey(utf8(p)))
    .find((dk) => equalBytes(keystoreMac(dk, ciphertext), mac))
  if (derived === undefined) throw new FleekError('BAD_PASSPHRASE', `wrong passphrase for ${WHAT}`)
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
  const secret = new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
  assertValidSecret('account', secret, `${WHAT}'s key`)
  const key: SecretKey = { kind: 'account', secret }
  if (record.address !== undefined) {
    const address = typeof record.address === 'string' ? record.address.replace(/^0x/i, '').toLowerCase() : ''
    if (address !== ethAddress(derivePublicKey(key)).slice(2).toLowerCase()) {
      throw new FleekError('INVALID_INPUT', `${WHAT} is corrupted: its address does not match its key`)
    }
  }
  return key
}

function keystoreMac(derivedKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(derivedKey.subarray(16, 32), ciphertext))
}

/** Checks the kdf section and returns the derivation it describes (password bytes → derived key). */
function readKdf(crypto: Record<string, unknown>): (password: Uint8Array) => Uint8Array {
  const params = crypto.kdfparams
  if (!isRecord(params)) throw new FleekError('INVALID_INPUT', `${WHAT} has no "kdfparams"`)
  const salt = parseHex(params.salt, undefined, true)
  if (salt === undefined || salt.length === 0)
    throw new FleekError('INVALID_INPUT', `${WHAT} has no valid kdf salt`)
  const dklen = params.dklen
  if (typeof dklen !== 'number' || !Number.isSafeInteger(dklen) || dklen < 32 || dklen > 64) {
    throw new FleekError('INVALID_INPUT', `${WHAT} has a kdf dklen outside 32..64`)
  }
  if (crypto.kdf === 'scrypt') {
    const scrypt = { N: params.n, r: params.r, p: params.p } as ScryptParams
    assertScryptParams(scrypt, WHAT)
    return (password) => deriveScrypt(password, salt, scrypt, dklen)
  }
  if (crypto.kdf === 'pbkdf2') {
    if (params.prf !== 'hmac-sha256') {
      throw new FleekError(
        'INVALID_INPUT',
        `${WHAT} uses an unsupported pbkdf2 prf (only hmac-sha256 is read)`,
      )
    }
    const iterations = params.c
    assertPbkdf2Iterations(iterations, WHAT)
    return (password) => derivePbkdf2Sha256(password, salt, iterations, dklen)
  }
  throw new FleekError('INVALID_INPUT', `${WHAT} uses an unsupported kdf (scrypt and pbkdf2 are read)`)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
