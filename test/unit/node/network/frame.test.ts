import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import fc from 'fast-check'

import {
  FRAME_HEADER_BYTES,
  FrameError,
  FrameKind,
  FrameReader,
  encodeFrame,
  type Frame,
  type StreamChunk,
} from '../../../../src/node/network/frame.ts'

async function* chunksOf(bytes: Uint8Array, sizes: number[]): AsyncGenerator<StreamChunk> {
  let offset = 0
  for (const size of sizes) {
    if (offset >= bytes.length) break
    yield bytes.subarray(offset, offset + size)
    offset += size
  }
  if (offset < bytes.length) yield bytes.subarray(offset)
}

async function readAll(reader: FrameReader): Promise<Frame[]> {
  const frames: Frame[] = []
  for (let frame = await reader.read(); frame !== undefined; frame = await reader.read()) frames.push(frame)
  return frames
}

async function readError(bytes: Uint8Array, maxPayloadBytes = 1024): Promise<FrameError> {
  const reader = new FrameReader(chunksOf(bytes, [bytes.length]), maxPayloadBytes)
  try {
    await readAll(reader)
  } catch (err) {
    assert.ok(err instanceof FrameError, String(err))
    assert.equal(err.code, 'INVALID_INPUT')
    return err
  }
  assert.fail('no FrameError')
}

const kinds = [FrameKind.MESSAGE, FrameKind.REQUEST, FrameKind.RESPONSE_OK, FrameKind.RESPONSE_ERROR]

describe('frames', () => {
  it('encodes length ‖ kind ‖ payload', () => {
    assert.deepEqual([...encodeFrame(FrameKind.REQUEST, Uint8Array.of(9, 8))], [0, 0, 0, 3, 2, 9, 8])
    assert.deepEqual([...encodeFrame(FrameKind.MESSAGE, new Uint8Array(0))], [0, 0, 0, 1, 1])
  })

  it('reads back any sequence of frames, however the stream splits it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ kind: fc.constantFrom(...kinds), payload: fc.uint8Array({ maxLength: 300 }) }), {
          maxLength: 8,
        }),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 200 }),
        async (frames, sizes) => {
          const parts = frames.map((f) => encodeFrame(f.kind, f.payload))
          const bytes = new Uint8Array(Buffer.concat(parts))
          const read = await readAll(new FrameReader(chunksOf(bytes, sizes), 300))
          assert.deepEqual(
            read.map((f) => ({ kind: f.kind, payload: [...f.payload] })),
            frames.map((f) => ({ kind: f.kind, payload: [...f.payload] })),
          )
        },
      ),
      { seed: 5, numRuns: 200 },
    )
  })

  it('accepts Uint8ArrayList-like chunks (anything with subarray())', async () => {
    const bytes = encodeFrame(FrameKind.MESSAGE, Uint8Array.of(1, 2, 3))
    async function* lists(): AsyncGenerator<StreamChunk> {
      yield { subarray: () => bytes.slice(0, 2) }
      yield { subarray: () => bytes.slice(2) }
    }
    const frames = await readAll(new FrameReader(lists(), 10))
    assert.deepEqual([...frames[0].payload], [1, 2, 3])
  })

  it('returns copies the caller may keep', async () => {
    const bytes = encodeFrame(FrameKind.MESSAGE, Uint8Array.of(1, 2, 3))
    const [frame] = await readAll(new FrameReader(chunksOf(bytes, [bytes.length]), 10))
    bytes.fill(0)
    assert.deepEqual([...frame.payload], [1, 2, 3])
  })

  it('refuses an oversized length prefix before reading (or allocating) the body', async () => {
    let pulled = 0
    async function* header(): AsyncGenerator<StreamChunk> {
      pulled++
      yield Uint8Array.of(0xff, 0xff, 0xff, 0xff, FrameKind.MESSAGE)
      pulled++
      yield new Uint8Array(16)
    }
    await assert.rejects(new FrameReader(header(), 1 << 20).read(), (err: unknown) => {
      assert.ok(err instanceof FrameError)
      assert.equal(err.reason, 'oversized')
      return true
    })
    assert.equal(pulled, 1)
    // The limit is the payload size: exactly at it passes, one over fails.
    const ok = await readAll(new FrameReader(chunksOf(encodeFrame(1, new Uint8Array(8)), [100]), 8))
    assert.equal(ok[0].payload.length, 8)
    assert.equal((await readError(encodeFrame(1, new Uint8Array(9)), 8)).reason, 'oversized')
  })

  it('names each kind of bad framing', async () => {
    assert.equal((await readError(Uint8Array.of(0, 0, 0, 0, 1))).reason, 'empty-frame')
    assert.equal((await readError(Uint8Array.of(0, 0, 0, 1, 0x7f))).reason, 'unknown-kind')
    assert.equal((await readError(Uint8Array.of(0, 0, 0, 1, 0))).reason, 'unknown-kind')
    assert.equal((await readError(Uint8Array.of(0, 0, 0))).reason, 'truncated')
    assert.equal((await readError(Uint8Array.of(0, 0, 0, 5, 1, 1, 2))).reason, 'truncated')
    const fine = encodeFrame(FrameKind.MESSAGE, Uint8Array.of(1))
    assert.equal((await readError(new Uint8Array([...fine, 0, 0]))).reason, 'truncated')
  })

  it('ends cleanly on an empty stream', async () => {
    assert.equal(await new FrameReader(chunksOf(new Uint8Array(0), []), 10).read(), undefined)
    assert.equal(FRAME_HEADER_BYTES, 5)
  })
})
