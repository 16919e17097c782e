import { Args, Flags } from '@oclif/core'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

import { FleekCommand } from '../../cli/base-command.ts'
import { openKeystore } from '../../cli/keys.ts'
import { existingPassphrase, newPassphrase, passphraseFlags } from '../../cli/passphrase.ts'
import { FleekError } from '../../lib/errors.ts'
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts'
import {
  type KeyKind,
  exportAccountKeystore,
  exportConsensusPem,
  exportNodePem,
} from '../../lib/keys/index.ts'
import { NodeHome, keyKinds } from '../../node/index.ts'

const formats: Record<KeyKind, string> = {
  node: 'pkcs8-pem',
  consensus: 'fleek-bls12-381-pem',
  account: 'ethereum-keystore-v3',
}

export default class KeysExport extends FleekCommand<typeof KeysExport> {
  static override summary =
    'Export a secret key: node as PKCS#8 PEM, consensus as PEM, account as a keystore v3 JSON.'
  static override description =
    'Prints the key to stdout, or writes it to --out (mode 0600, never over an existing file without --force). The node PEM is readable by `openssl pkey`; the account keystore imports into Ethereum wallets and is encrypted with the key passphrase (or FLEEK_EXPORT_PASSPHRASE).'
  static override examples = [
    '<%= config.bin %> keys export node --out node.pem',
    '<%= config.bin %> keys export account --out wallet.json',
    '<%= config.bin %> keys export consensus | less',
  ]
  static override args = {
    kind: Args.string({ description: 'Which key.', required: true, options: [...keyKinds] }),
  }
  static override flags = {
    out: Flags.string({ char: 'o', summary: 'Write to this file instead of stdout.' }),
    force: Flags.boolean({ summary: 'Replace an existing --out file.', default: false }),
    ...passphraseFlags,
  }

  async run(): Promise<{ kind: KeyKind; format: string; path?: string; data?: string }> {
    const kind = this.args.kind as KeyKind
    new NodeHome(this.home).requireExisting()
    const { home, keystore } = openKeystore(this.home)
    const out = this.flags.out === undefined ? undefined : resolve(this.flags.out)
    if (out !== undefined && existsSync(out) && !this.flags.force)
      throw new FleekError('EXISTS', `${out} already exists (use --force to replace it)`)
    const sources = {
      passphraseFile: this.flags['passphrase-file'],
      keychain: this.flags.keychain,
      home: home.dir,
      notice: (l: string) => this.notice(l),
    }
    const passphrase = keystore.isEncrypted(kind)
      ? await existingPassphrase({ ...sources, what: `the ${kind} key` })
      : undefined
    const key = keystore.load(kind, passphrase !== undefined ? { passphrase } : {})
    let data: string
    if (kind === 'node') data = exportNodePem(key)
    else if (kind === 'consensus') data = exportConsensusPem(key)
    else {
      const exportPass =
        process.env.FLEEK_EXPORT_PASSPHRASE ||
        passphrase ||
        (await newPassphrase({ ...sources, encrypt: true, what: 'the exported account keystore' }))
      data = exportAccountKeystore(key, exportPass as string)
    }
    if (out !== undefined) {
      writeFileAtomic(out, data, { mode: 0o600 })
      this.notice(`Wrote the ${kind} key (${formats[kind]}) to ${out}`)
      return { kind, format: formats[kind], path: out }
    }
    if (!this.jsonEnabled()) process.stdout.write(data.endsWith('\n') ? data : `${data}\n`)
    return { kind, format: formats[kind], data }
  }
}
