/**
 * Where a key passphrase comes from, in order: --passphrase-file, FLEEK_KEY_PASSPHRASE, the OS keychain
 * (when asked for), and a hidden prompt on a TTY. Never printed, never logged.
 */
import { password } from '@inquirer/prompts'
import { Flags } from '@oclif/core'
import { readFileSync } from 'node:fs'

import { FleekError, fromSystemError } from '../lib/errors.ts'
import { keychainGet, keychainSet } from '../node/index.ts'

export const passphraseFlags = {
  'passphrase-file': Flags.string({
    summary: 'Read the key passphrase from this file (first line). Env: FLEEK_KEY_PASSPHRASE.',
    helpGroup: 'KEYS',
  }),
  keychain: Flags.boolean({
    summary: 'Keep the passphrase in the OS keychain, and read it from there.',
    helpGroup: 'KEYS',
    default: false,
  }),
}

export const encryptFlag = {
  encrypt: Flags.boolean({
    summary: 'Encrypt keys at rest with a passphrase (--no-encrypt stores them in plaintext).',
    helpGroup: 'KEYS',
    default: true,
    allowNo: true,
  }),
}

export interface PassphraseSources {
  passphraseFile?: string | undefined
  keychain?: boolean
  home: string
  /** Where notices go (one line each). */
  notice: (line: string) => void
}

function fromFileOrEnv(sources: PassphraseSources): string | undefined {
  if (sources.passphraseFile !== undefined) {
    let text: string
    try {
      text = readFileSync(sources.passphraseFile, 'utf8')
    } catch (err) {
      throw fromSystemError(err, 'read the passphrase file', sources.passphraseFile)
    }
    const line = text.split(/\r?\n/)[0]
    if (line.length === 0)
      throw new FleekError('INVALID_INPUT', `the passphrase file ${sources.passphraseFile} is empty`)
    return line
  }
  const env = process.env.FLEEK_KEY_PASSPHRASE
  return env !== undefined && env !== '' ? env : undefined
}

const interactive = (): boolean => process.stdin.isTTY === true && process.stderr.isTTY === true

/** A passphrase to encrypt new keys with, or undefined for plaintext (only with --no-encrypt). */
export async function newPassphrase(
  sources: PassphraseSources & { encrypt: boolean; what?: string },
): Promise<string | undefined> {
  if (!sources.encrypt) return undefined
  let value = fromFileOrEnv(sources)
  if (value === undefined && interactive()) {
    const prompt = { output: process.stderr }
    for (;;) {
      const first = await password({ message: 'New key passphrase', mask: true }, prompt)
      if (first.length === 0) {
        sources.notice('An empty passphrase is not allowed (use --no-encrypt to store keys in plaintext).')
        continue
      }
      const again = await password({ message: 'Repeat the passphrase', mask: true }, prompt)
      if (first === again) {
        value = first
        break
      }
      sources.notice('The passphrases differ; try again.')
    }
  }
  if (value === undefined)
    throw new FleekError(
      'USAGE',
      sources.what === undefined
        ? 'no passphrase for the keys: set FLEEK_KEY_PASSPHRASE, pass --passphrase-file, or --no-encrypt to store them in plaintext'
        : `no passphrase for ${sources.what}: set FLEEK_EXPORT_PASSPHRASE or FLEEK_KEY_PASSPHRASE, or pass --passphrase-file`,
    )
  if (sources.keychain) {
    const saved = keychainSet(sources.home, value)
    if (!saved.ok) sources.notice(`OS keychain not usable (${saved.reason}); carrying on without it.`)
  }
  return value
}

/** The passphrase of existing encrypted keys. */
export async function existingPassphrase(sources: PassphraseSources & { what: string }): Promise<string> {
  const value = fromFileOrEnv(sources)
  if (value !== undefined) return value
  if (sources.keychain) {
    const got = keychainGet(sources.home)
    if (got.ok && got.value !== undefined) return got.value
    if (!got.ok) sources.notice(`OS keychain not usable (${got.reason}); carrying on without it.`)
  }
  if (interactive())
    return password({ message: `Passphrase for ${sources.what}`, mask: true }, { output: process.stderr })
  throw new FleekError(
    'BAD_PASSPHRASE',
    `${sources.what} is encrypted: give the passphrase (FLEEK_KEY_PASSPHRASE, --passphrase-file, or run on a terminal)`,
  )
}
