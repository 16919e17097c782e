/**
 * The keystore: the node's three keys as files in <home>/keys (folder 0700, files 0600), each in the
 * at-rest format of src/lib/keys (encrypted with scrypt + AES-256-GCM when a passphrase is given).
 * Writes are atomic; nothing is replaced unless `force` is asked for.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

import { FleekError, fromSystemError } from '../../lib/errors.ts'
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts'
import {
  type KeyKind,
  type SecretKey,
  decodeKeyFile,
  encodeKeyFile,
  isEncryptedKeyFile,
  readKeyFilePublicKey,
} from '../../lib/keys/index.ts'

export const keyKinds: readonly KeyKind[] = ['node', 'consensus', 'account']

export interface KeystoreOptions {
  /** Folder of the key files. */
  dir: string
  /** scrypt cost override (tests use small values). */
  scrypt?: { N: number; r: number; p: number }
}

export class Keystore {
  readonly dir: string
  private readonly scrypt: KeystoreOptions['scrypt']

  constructor(options: KeystoreOptions) {
    this.dir = options.dir
    this.scrypt = options.scrypt
  }

  path(kind: KeyKind): string {
    return join(this.dir, `${kind}.json`)
  }

  has(kind: KeyKind): boolean {
    return existsSync(this.path(kind))
  }

  /** The kinds whose files exist. */
  present(): KeyKind[] {
    return keyKinds.filter((k) => this.has(k))
  }

  private read(kind: KeyKind): string {
    const path = this.path(kind)
    try {
      return readFileSync(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new FleekError('NOT_FOUND', `no ${kind} key in ${this.dir} (run \`fleek keys generate\`)`, {
          cause: err,
        })
      throw fromSystemError(err, 'read', path)
    }
  }

  isEncrypted(kind: KeyKind): boolean {
    return isEncryptedKeyFile(this.read(kind))
  }

  /** The public key, readable without the passphrase. */
  publicKey(kind: KeyKind): Uint8Array {
    return readKeyFilePublicKey(this.read(kind), kind)
  }

  load(kind: KeyKind, options: { passphrase?: string } = {}): SecretKey {
    return decodeKeyFile(this.read(kind), kind, options)
  }

  /** Writes several keys; refuses before writing anything if one exists and `force` is not set. */
  saveAll(keys: SecretKey[], options: { passphrase?: string; force?: boolean } = {}): void {
    if (!options.force) {
      const existing = keys.filter((k) => this.has(k.kind)).map((k) => k.kind)
      if (existing.length > 0)
        throw new FleekError(
          'EXISTS',
          `${existing.join(', ')} key${existing.length > 1 ? 's' : ''} already present in ${this.dir} (use --force to replace)`,
        )
    }
    this.ensureDir()
    // Encode everything first: a failure leaves the folder as it was.
    const encoded = keys.map((key) => ({
      kind: key.kind,
      text: encodeKeyFile(key, {
        ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
        ...(this.scrypt ? { scrypt: this.scrypt } : {}),
      }),
    }))
    for (const { kind, text } of encoded) writeFileAtomic(this.path(kind), text, { mode: 0o600 })
  }

  save(key: SecretKey, options: { passphrase?: string; force?: boolean } = {}): void {
    this.saveAll([key], options)
  }

  private ensureDir(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 })
      if (!statSync(this.dir).isDirectory())
        throw new FleekError('INVALID_INPUT', `${this.dir} is not a directory`)
      chmodSync(this.dir, 0o700)
    } catch (err) {
      throw fromSystemError(err, 'create the key folder', this.dir)
    }
  }
}
