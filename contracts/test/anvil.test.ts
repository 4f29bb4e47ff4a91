import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, http } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil } from '../../scripts/infra/anvil.js';
import { freePort } from '../../scripts/infra/ports.js';

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ecocoin-anvil-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function clientFor(rpcUrl: string) {
  return createPublicClient({ chain: foundry, transport: http(rpcUrl, { retryCount: 0 }) });
}

async function mineBlocks(rpcUrl: string, blocks: number): Promise<void> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: [`0x${blocks.toString(16)}`] }),
  });
  expect(((await response.json()) as { error?: unknown }).error).toBeUndefined();
}

describe('startAnvil', () => {
  it('answers on the port it was given, and stops for good (twice is fine)', async () => {
    const port = await freePort();
    const anvil = await startAnvil({ port });
    expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${port}`);
    expect(await clientFor(anvil.rpcUrl).getChainId()).toBe(foundry.id);
    await anvil.stop();
    await anvil.stop();
    await expect(clientFor(anvil.rpcUrl).getChainId()).rejects.toThrow();
  });

  it('keeps the chain in the state file across a stop and a start', async () => {
    const stateFile = join(workDir, 'chain-state.json');
    const first = await startAnvil({ stateFile });
    await mineBlocks(first.rpcUrl, 5);
    await first.stop();

    const second = await startAnvil({ stateFile });
    try {
      expect(await clientFor(second.rpcUrl).getBlockNumber()).toBe(5n);
    } finally {
      await second.stop();
    }
  });

  it('refuses a port that is in use rather than talk to whatever answers there', async () => {
    const taken = await startAnvil();
    const port = Number(new URL(taken.rpcUrl).port);
    try {
      await expect(startAnvil({ port })).rejects.toThrow(/port \d+ on 127.0.0.1, it is in use/);
    } finally {
      await taken.stop();
    }
  });

  it('fails with the message of an anvil that exits while starting', async () => {
    const stateFile = join(workDir, 'broken-state.json');
    await writeFile(stateFile, 'not json');
    await expect(startAnvil({ stateFile })).rejects.toThrow(/anvil exited with code 2 before answering:[\s\S]*failed to parse json file/);
  });
});
