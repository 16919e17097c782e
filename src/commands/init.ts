import { Flags } from '@oclif/core'

import { FleekCommand } from '../cli/base-command.ts'
import { type Identities, identities, printIdentities } from '../cli/keys.ts'
import { encryptFlag, newPassphrase, passphraseFlags } from '../cli/passphrase.ts'
import { FleekError } from '../lib/errors.ts'
import { generateKey } from '../lib/keys/index.ts'
import { Keystore, NodeHome, keyKinds, resolveConfig } from '../node/index.ts'

export default class Init extends FleekCommand<typeof Init> {
  static override summary = 'Create a node home with a commented config.toml and fresh keys.'
  static override description =
    'Creates the home folder (mode 0700) with config.toml — every section and default written out with a comment — and generates the node, consensus and account keys. An existing home is left alone unless --force is given; --force rewrites config.toml and creates missing keys, but never replaces existing keys (that is `fleek keys generate --force`).'
  static override examples = [
    '<%= config.bin %> init',
    'FLEEK_KEY_PASSPHRASE=… <%= config.bin %> init --home ./node1',
    '<%= config.bin %> init --no-encrypt --json',
    '<%= config.bin %> init --no-keys',
  ]
  static override flags = {
    force: Flags.boolean({ summary: 'Rewrite config.toml of an existing home.', default: false }),
    keys: Flags.boolean({ summary: 'Generate keys (--no-keys skips them).', default: true, allowNo: true }),
    ...encryptFlag,
    ...passphraseFlags,
  }

  async run(): Promise<{ home: string; config: string; keys: Identities; created: string[] }> {
    const home = new NodeHome(this.home)
    if (home.isInitialised() && !this.flags.force)
      throw new FleekError(
        'EXISTS',
        `${home.dir} already exists and is not empty (use --force to rewrite its config)`,
      )
    // The config about to be written: defaults, with FLEEK_* environment variables applied.
    const keystoreDir = home.path(resolveConfig({ env: process.env }).keystore.dir)
    const keystore = new Keystore({ dir: keystoreDir })
    const missing = this.flags.keys ? keyKinds.filter((k) => !keystore.has(k)) : []
    const passphrase =
      missing.length > 0
        ? await newPassphrase({
            encrypt: this.flags.encrypt,
            passphraseFile: this.flags['passphrase-file'],
            keychain: this.flags.keychain,
            home: home.dir,
            notice: (l) => this.notice(l),
          })
        : undefined
    home.ensure()
    home.writeDefaultConfig()
    if (missing.length > 0)
      keystore.saveAll(
        missing.map((kind) => generateKey(kind)),
        passphrase !== undefined ? { passphrase } : {},
      )
    const keys = identities(keystore)
    this.log(`Initialised ${home.dir}`)
    this.log(`  config        ${home.configPath}`)
    if (missing.length > 0)
      this.log(`  keys          ${missing.join(', ')}${passphrase ? ' (encrypted)' : ' (plaintext)'}`)
    printIdentities((l) => this.log(`  ${l}`), keys)
    return { home: home.dir, config: home.configPath, keys, created: missing }
  }
}
