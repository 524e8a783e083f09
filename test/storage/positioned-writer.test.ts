/**
 * The data-file writer's gathering: one write per chunk within the process's budget, a
 * write per piece beyond it, and every gathered byte given back to the budget however the
 * body ends (written, destroyed mid-body, a failed write), so a busy or hostile moment
 * never leaves the process writing piece by piece for good.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GatherBudget, type GatherLimits } from '../../services/storage/fs/gather-budget.js';
import { PositionedWriter } from '../../services/storage/fs/positioned-writer.js';

const KiB = 1024;
const LIMITS: GatherLimits = { bytesPerWriter: 256 * KiB, piecesPerWriter: 8, bytesPerProcess: 1024 * KiB };

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-writer-'));
});
after(() => rm(dir, { recursive: true, force: true }));

let files = 0;
function openFile(): { fd: number; file: string } {
  const file = path.join(dir, `data-${++files}`);
  return { fd: fs.openSync(file, 'w+'), file };
}

const piece = (bytes: number, fill: number) => Buffer.alloc(bytes, fill);

/** Writes one piece and waits until the writer took it (its callback). */
function put(writer: PositionedWriter, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => writer.write(data, (err) => (err ? reject(err) : resolve())));
}

function end(writer: PositionedWriter): Promise<void> {
  return new Promise((resolve, reject) => {
    writer.once('error', reject);
    writer.end(() => resolve());
  });
}

describe('PositionedWriter gathering', () => {
  it('writes a chunk of bytesPerWriter in one write, at its position, while within the budget', async () => {
    const budget = new GatherBudget(LIMITS);
    const { fd, file } = openFile();
    const writer = new PositionedWriter(fd, 100, budget);
    for (let i = 0; i < 3; i++) {
      await put(writer, piece(64 * KiB, i + 1));
      assert.equal(writer.bytesWritten, 0, 'nothing is written before a whole chunk is gathered');
      assert.equal(budget.held, (i + 1) * 64 * KiB);
    }
    await put(writer, piece(64 * KiB, 4));
    assert.equal(writer.bytesWritten, 256 * KiB, 'the gathered chunk is written at once');
    await put(writer, piece(10, 5));
    await end(writer);
    assert.equal(writer.bytesWritten, 256 * KiB + 10, 'the rest is written when the body ends');
    assert.equal(budget.held, 0);
    fs.closeSync(fd);
    const content = await readFile(file);
    assert.equal(content.length, 100 + 256 * KiB + 10);
    assert.equal(content[100], 1);
    assert.equal(content[100 + 255 * KiB], 4);
    assert.equal(content.at(-1), 5);
  });

  it('writes each piece at once while the process holds its whole budget', async () => {
    const budget = new GatherBudget(LIMITS);
    budget.take(LIMITS.bytesPerProcess); // other bodies hold the budget
    const { fd } = openFile();
    const writer = new PositionedWriter(fd, 0, budget);
    for (let i = 1; i <= 3; i++) {
      await put(writer, piece(4 * KiB, i));
      assert.equal(writer.bytesWritten, i * 4 * KiB, `piece ${i} is written without waiting for more`);
    }
    await end(writer);
    assert.equal(budget.held, LIMITS.bytesPerProcess, 'only what the others hold is left');
    fs.closeSync(fd);
  });

  it('writes once it holds piecesPerWriter pieces, however small (a trickled body)', async () => {
    const budget = new GatherBudget(LIMITS);
    const { fd, file } = openFile();
    const writer = new PositionedWriter(fd, 0, budget);
    for (let i = 0; i < LIMITS.piecesPerWriter - 1; i++) await put(writer, Buffer.from([i]));
    assert.equal(writer.bytesWritten, 0);
    await put(writer, Buffer.from([LIMITS.piecesPerWriter - 1]));
    assert.equal(writer.bytesWritten, LIMITS.piecesPerWriter);
    await end(writer);
    fs.closeSync(fd);
    assert.deepEqual([...(await readFile(file))], Array.from({ length: LIMITS.piecesPerWriter }, (_, i) => i));
  });

  it('gives back what it gathered when destroyed mid-body, and writes none of it', async () => {
    const budget = new GatherBudget(LIMITS);
    const { fd, file } = openFile();
    const writer = new PositionedWriter(fd, 0, budget);
    await put(writer, piece(64 * KiB, 1));
    assert.equal(budget.held, 64 * KiB);
    writer.on('error', () => undefined);
    writer.destroy(new Error('the client went away'));
    await new Promise((resolve) => writer.once('close', resolve));
    assert.equal(budget.held, 0);
    assert.equal(writer.bytesWritten, 0);
    fs.closeSync(fd);
    assert.equal((await readFile(file)).length, 0);
  });

  it('gives back the bytes of a write that failed', async () => {
    const budget = new GatherBudget(LIMITS);
    const { fd } = openFile();
    fs.closeSync(fd); // the write fails with EBADF
    const writer = new PositionedWriter(fd, 0, budget);
    writer.on('error', () => undefined);
    await assert.rejects(put(writer, piece(256 * KiB, 1)), { code: 'EBADF' });
    assert.equal(budget.held, 0);
  });
});

describe('PositionedWriter destroyed while a write is in flight', () => {
  it("ends ('error', 'close') only once that write is done, so its descriptor cannot be closed under it", async (t) => {
    const budget = new GatherBudget(LIMITS);
    const { fd, file } = openFile();
    // The thread pool holds the write until the test lets it go.
    const held: (() => void)[] = [];
    const writev = fs.writev;
    t.mock.method(fs, 'writev', (...args: Parameters<typeof fs.writev>) => {
      held.push(() => (writev as (...a: unknown[]) => void)(...args));
    });
    const writer = new PositionedWriter(fd, 0, budget);
    writer.on('error', () => undefined);
    let closed = false;
    writer.once('close', () => (closed = true));
    writer.write(piece(256 * KiB, 7)); // a whole gather: its write starts
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(held.length, 1, 'the write is in flight');
    writer.destroy(new Error('the client went away'));
    // Without the wait, 'close' comes on the next tick: two turns of the event loop are plenty.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false, 'not over while its write is in flight');
    held[0]!();
    await new Promise((resolve) => writer.once('close', resolve));
    assert.equal(writer.bytesWritten, 256 * KiB, 'the write that did land is counted');
    assert.equal(budget.held, 0);
    fs.closeSync(fd);
    assert.equal((await readFile(file)).length, 256 * KiB);
  });
});
