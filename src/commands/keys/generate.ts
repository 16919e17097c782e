import { Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { type Identities, identities, openKeystore, printIdentities } from '../../cli/keys.ts'
import { encryptFlag, newPassphrase, passphraseFlags } from '../../cli/passphrase.ts'
import { FleekError } from '../../lib/errors.ts'
import { generateKey } from '../../lib/keys/index.ts'
import { keyKinds } from '../../node/index.ts'

export default class KeysGenerate extends FleekCommand<typeof KeysGenerate> {
  static override summary = 'Generate the node (ed25519), consensus (BLS12-381) and account (secp256k1) keys.'
  static override description =
    'Keys are encrypted at rest (scrypt + AES-256-GCM) with a passphrase from --passphrase-file, FLEEK_KEY_PASSPHRASE or a hidden prompt; --no-encrypt stores plaintext. Existing keys are never replaced without --force.'
  static override examples = [
    '<%= config.bin %> keys generate',
    'FLEEK_KEY_PASSPHRASE=… <%= config.bin %> keys generate --json',
    '<%= config.bin %> keys generate --no-encrypt --force',
  ]
  static override flags = {
    force: Flags.boolean({ summary: 'Replace existing keys.', default: false }),
    ...encryptFlag,
    ...passphraseFlags,
  }

  async run(): Promise<Identities> {
    const { home, keystore } = openKeystore(this.home)
    const present = keystore.present()
    if (present.length > 0 && !this.flags.force)
      throw new FleekError(
        'EXISTS',
        `${present.join(', ')} key${present.length > 1 ? 's' : ''} already present in ${keystore.dir} (use --force to replace)`,
      )
    const passphrase = await newPassphrase({
      encrypt: this.flags.encrypt,
      passphraseFile: this.flags['passphrase-file'],
      keychain: this.flags.keychain,
      home: home.dir,
      notice: (l) => this.notice(l),
    })
    keystore.saveAll(
      keyKinds.map((kind) => generateKey(kind)),
      { force: this.flags.force, ...(passphrase !== undefined ? { passphrase } : {}) },
    )
    const ids = identities(keystore)
    printIdentities((l) => this.log(l), ids)
    return ids
  }
}
