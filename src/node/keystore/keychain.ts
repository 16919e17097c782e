/**
 * Optional OS keychain for the key passphrase, through @napi-rs/keyring. Headless servers usually have
 * no usable keychain; every call then reports why instead of throwing, and fleek carries on.
 */
import { createRequire } from 'node:module'

const SERVICE = 'fleek'

interface KeyringEntry {
  getPassword(): string | null | undefined
  setPassword(password: string): void
  deletePassword(): boolean
}
type EntryCtor = new (service: string, account: string) => KeyringEntry

export type KeychainResult<T> = { ok: true; value: T } | { ok: false; reason: string }

function entryFor(home: string): KeychainResult<KeyringEntry> {
  let Entry: EntryCtor
  try {
    Entry = (createRequire(import.meta.url)('@napi-rs/keyring') as { Entry: EntryCtor }).Entry
  } catch {
    return { ok: false, reason: 'the keyring module is not installed' }
  }
  try {
    return { ok: true, value: new Entry(SERVICE, home) }
  } catch (err) {
    return { ok: false, reason: oneLine(err) }
  }
}

const oneLine = (err: unknown): string => String((err as Error)?.message ?? err).split('\n')[0]

export function keychainGet(home: string): KeychainResult<string | undefined> {
  const entry = entryFor(home)
  if (!entry.ok) return entry
  try {
    return { ok: true, value: entry.value.getPassword() ?? undefined }
  } catch (err) {
    return { ok: false, reason: oneLine(err) }
  }
}

export function keychainSet(home: string, passphrase: string): KeychainResult<void> {
  const entry = entryFor(home)
  if (!entry.ok) return entry
  try {
    entry.value.setPassword(passphrase)
    return { ok: true, value: undefined }
  } catch (err) {
    return { ok: false, reason: oneLine(err) }
  }
}
