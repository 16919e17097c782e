/**
 * The live dashboard of `fleek node run` on a terminal (ink). It only reads the node's status
 * snapshot; the node runs the same with or without it.
 */
import { Box, Text, render } from 'ink'
import { useEffect, useState } from 'react'

import type { NodeStatus } from '../node/index.ts'

const short = (s: string, n = 12): string => (s.length > 2 * n + 1 ? `${s.slice(0, n)}…${s.slice(-n)}` : s)

function duration(ms: number): string {
  if (ms <= 0) return 'now'
  const s = Math.floor(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Box>
      <Box width={14}>
        <Text color="gray">{label}</Text>
      </Box>
      <Text>{children}</Text>
    </Box>
  )
}

function Dashboard({ read, intervalMs }: { read: () => NodeStatus; intervalMs: number }) {
  const [status, setStatus] = useState(read)
  useEffect(() => {
    const timer = setInterval(() => setStatus(read()), intervalMs)
    return () => clearInterval(timer)
  }, [read, intervalMs])
  const now = Date.now()
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold color="cyan">
        fleek node · chain {status.chainId} · up {duration(now - status.startedAtMs)}
      </Text>
      <Row label="node">{status.nodeId}</Row>
      <Row label="peer id">{status.peerId}</Row>
      <Row label="rpc">{status.rpcUrl}</Row>
      <Row label="epoch">
        {status.epoch} · ends in {duration(status.epochEndMs - now)}
      </Row>
      <Row label="height">
        {status.height} · root {short(status.stateRoot)}
      </Row>
      <Row label="committee">
        {status.committee.length} member{status.committee.length === 1 ? '' : 's'}
        {status.isCommitteeMember ? ' (this node is one)' : ''}
      </Row>
      {status.consensusRound !== undefined ? <Row label="round">{status.consensusRound}</Row> : null}
      <Row label="peers">{status.peers}</Row>
      <Row label="tx/s">{status.txPerSecond.toFixed(1)}</Row>
      <Row label="content">
        {status.content.blobs} blob{status.content.blobs === 1 ? '' : 's'} · {bytes(status.content.bytes)}
      </Row>
      <Box marginTop={1} flexDirection="column">
        <Text color="gray">recent receipts</Text>
        {status.recentReceipts.length === 0 ? <Text color="gray"> none yet</Text> : null}
        {status.recentReceipts.slice(-8).map((r) => (
          <Text key={r.txHash}>
            {'  '}
            {String(r.height).padStart(6)} {short(r.txHash, 8)} {r.method.padEnd(14)}{' '}
            <Text color={r.status === 'success' ? 'green' : 'red'}>
              {r.status}
              {r.reason ? ` ${r.reason}` : ''}
            </Text>
          </Text>
        ))}
      </Box>
      <Text color="gray">Ctrl-C stops the node (twice forces).</Text>
    </Box>
  )
}

/** Renders until `signal` aborts; returns a function that unmounts. */
export function showDashboard(read: () => NodeStatus, signal: AbortSignal, intervalMs = 500): () => void {
  const app = render(<Dashboard read={read} intervalMs={intervalMs} />, {
    stdout: process.stderr,
    exitOnCtrlC: false,
    patchConsole: false,
  })
  const stop = (): void => app.unmount()
  signal.addEventListener('abort', stop, { once: true })
  return stop
}
