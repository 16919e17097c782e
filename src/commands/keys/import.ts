import { Args, Flags } from '@oclif/core'
import { readFileSync, statSync } from 'node:fs'

import { FleekCommand } from '../../cli/base-command.ts'
import { type Identities, identities, openKeystore, printIdentities } from '../../cli/keys.ts'
import { encryptFlag, existingPassphrase, newPassphrase, passphraseFlags } from '../../cli/passphrase.ts'
import { FleekError, fromSystemError, isFleekError } from '../../lib/errors.ts'
import { type KeyKind, type SecretKey, importKey } from '../../lib/keys/index.ts'
import { keyKinds } from '../../node/index.ts'

/** Key files are a few KiB at most; anything larger is refused before it is read. */
const MAX_KEY_FILE_BYTES = 64 * 1024

/** Files that carry their own encryption and so need the passphrase they were exported with. */
const encryptedFile = (text: string): boolean =>
  text.includes('ENCRYPTED PRIVATE KEY') || /"crypto"\s*:|"Crypto"\s*:/.test(text)

export default class KeysImport extends FleekCommand<typeof KeysImport> {
  static override summary =
    'Import a secret key from a file (node PKCS#8 PEM, consensus PEM, account keystore v3).'
  static override description =
    'The key is checked before anything is written and stored encrypted like `keys generate` does. The passphrase of an encrypted input file comes from FLEEK_IMPORT_PASSPHRASE, else the key passphrase, else a prompt. An existing key is not replaced without --force. `-` reads stdin.'
  static override examples = [
    '<%= config.bin %> keys import node node.pem',
    'FLEEK_IMPORT_PASSPHRASE=… <%= config.bin %> keys import account wallet.json --force',
    'cat consensus.pem | <%= config.bin %> keys import consensus - --no-encrypt',
  ]
  static override args = {
    kind: Args.string({ description: 'Which key.', required: true, options: [...keyKinds] }),
    file: Args.string({ description: 'The key file, or - for stdin.', required: true }),
  }
  static override flags = {
    force: Flags.boolean({ summary: 'Replace the existing key.', default: false }),
    ...encryptFlag,
    ...passphraseFlags,
  }

  async run(): Promise<Identities> {
    const kind = this.args.kind as KeyKind
    const { home, keystore } = openKeystore(this.home)
    if (keystore.has(kind) && !this.flags.force)
      throw new FleekError(
        'EXISTS',
        `a ${kind} key is already present in ${keystore.dir} (use --force to replace it)`,
      )
    const file = this.args.file
    let text: string
    try {
      if (file !== '-' && statSync(file).size > MAX_KEY_FILE_BYTES)
        throw new FleekError('INVALID_INPUT', `${file} is too large to be a key file`)
      text = readFileSync(file === '-' ? 0 : file, 'utf8')
    } catch (err) {
      throw fromSystemError(err, 'read', file === '-' ? 'stdin' : file)
    }
    if (text.length > MAX_KEY_FILE_BYTES)
      throw new FleekError('INVALID_INPUT', `${file === '-' ? 'stdin' : file} is too large to be a key file`)
    const sources = {
      passphraseFile: this.flags['passphrase-file'],
      keychain: this.flags.keychain,
      home: home.dir,
      notice: (l: string) => this.notice(l),
    }
    let key: SecretKey
    try {
      const filePass = encryptedFile(text)
        ? process.env.FLEEK_IMPORT_PASSPHRASE ||
          (await existingPassphrase({ ...sources, what: `the ${kind} key file ${file}` }))
        : undefined
      key = importKey(kind, text, filePass !== undefined ? { passphrase: filePass } : {})
    } catch (err) {
      if (isFleekError(err)) throw err
      throw new FleekError('INVALID_INPUT', `${file} does not hold a ${kind} key`, { cause: err })
    }
    const passphrase = await newPassphrase({ ...sources, encrypt: this.flags.encrypt })
    keystore.save(key, { force: this.flags.force, ...(passphrase !== undefined ? { passphrase } : {}) })
    const ids = identities(keystore, [kind])
    printIdentities((l) => this.log(l), ids)
    return ids
  }
}
