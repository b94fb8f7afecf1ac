// cosmjs' CometBFT 0.38 client, unmodified, against a running synod-node.
//
// Run by node/tests/rpc_cosmjs.rs, which starts the node and writes the
// fixture named by SYNOD_COSMJS_FIXTURE: the RPC's http and websocket URLs,
// and three Synod txs signed in order (cosmjs cannot sign them) with the
// account they pay. By hand: `node --test` in this folder with that
// variable set.
//
// Every method of the client `connectComet` returns is called, and the
// NewBlock, NewBlockHeader and Tx subscriptions must deliver.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";

import { Comet38Client, connectComet } from "@cosmjs/tendermint-rpc";

const fixturePath = process.env.SYNOD_COSMJS_FIXTURE;
assert.ok(fixturePath, "SYNOD_COSMJS_FIXTURE must name the fixture node/tests/rpc_cosmjs.rs writes");
const fixture = JSON.parse(readFileSync(fixturePath, "utf8"));
const txs = fixture.txs.map((t) => Uint8Array.from(Buffer.from(t, "base64")));

/** The first event of an xstream `stream` (at most `ms` milliseconds). */
function firstEvent(stream, what, ms = 30_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} event within ${ms} ms`)), ms);
    const listener = {
      next: (event) => {
        clearTimeout(timer);
        stream.removeListener(listener);
        resolve(event);
      },
      error: (e) => {
        clearTimeout(timer);
        reject(e);
      },
      complete: () => {},
    };
    stream.addListener(listener);
  });
}

const hex = (bytes) => Buffer.from(bytes).toString("hex").toUpperCase();

// cosmjs' websocket client schedules a reconnect on every disconnection,
// disconnect() included, which would keep this process alive: leave once
// the test has reported (the exit code is the runner's).
after(() => setTimeout(() => process.exit(), 1_000).unref());

test("cosmjs' Comet38Client reads and writes through synod-node", async () => {
  const client = await connectComet(fixture.http);
  assert.ok(client instanceof Comet38Client, "connectComet picks the CometBFT 0.38 client");
  const ws = await Comet38Client.connect(fixture.ws);
  try {
    // Subscriptions first, so the blocks that follow are seen.
    const newBlock = firstEvent(ws.subscribeNewBlock(), "NewBlock");
    const newHeader = firstEvent(ws.subscribeNewBlockHeader(), "NewBlockHeader");
    const txEvent = firstEvent(ws.subscribeTx(`transfer.to='${fixture.recipient}'`), "Tx");

    assert.equal(await client.health(), null);
    const status = await client.status();
    assert.ok(status.nodeInfo.version.startsWith("0.38."), status.nodeInfo.version);
    assert.equal(status.nodeInfo.network, fixture.chain_id);
    assert.ok(status.syncInfo.latestBlockHeight >= 1);
    assert.ok(status.validatorInfo.votingPower > 0n, "this node validates");
    const info = await client.abciInfo();
    assert.ok(info.lastBlockAppHash instanceof Uint8Array && info.lastBlockAppHash.length > 0);
    const genesis = await client.genesis();
    assert.equal(genesis.chainId, fixture.chain_id);
    assert.equal(genesis.consensusParams.block.maxBytes, 22020096);
    const unconfirmed = await client.numUnconfirmedTxs();
    assert.equal(typeof unconfirmed.total, "number");

    // Three txs: sync, async, then commit (each spends the next nonce).
    const sync = await client.broadcastTxSync({ tx: txs[0] });
    assert.equal(sync.code, 0, sync.log);
    assert.equal(sync.hash.length, 32);
    const queued = await client.broadcastTxAsync({ tx: txs[1] });
    assert.equal(queued.hash.length, 32);
    const committed = await client.broadcastTxCommit({ tx: txs[2] });
    assert.equal(committed.checkTx.code, 0, committed.checkTx.log);
    assert.equal(committed.txResult.code, 0, committed.txResult.log);
    const h = committed.height;
    assert.ok(h > 0);

    const block = await client.block(h);
    assert.equal(block.block.header.height, h);
    assert.ok(block.block.txs.some((t) => hex(t) === hex(txs[2])));
    assert.ok(block.blockId.parts.total >= 1);
    assert.ok(block.block.lastCommit, "a block above the first records its last commit");
    const first = await client.block(1);
    assert.equal(first.block.lastCommit, null, "the first block has none");
    assert.equal(first.block.header.lastBlockId, null);
    const latest = await client.block();
    assert.ok(latest.block.header.height >= h);
    const results = await client.blockResults(h);
    assert.equal(results.height, h);
    assert.ok(results.results.every((r) => r.code === 0));
    assert.ok(results.results.some((r) => r.events.some((e) => e.type === "transfer")));
    const chain = await client.blockchain(1, h);
    assert.equal(chain.blockMetas[0].header.height, h);
    assert.equal(hex(chain.blockMetas[0].blockId.hash), hex(block.blockId.hash));
    const commit = await client.commit(h);
    assert.equal(commit.header.height, h);
    assert.ok(commit.commit.signatures.length >= 1);
    const latestCommit = await client.commit();
    assert.equal(latestCommit.canonical, false, "the latest commit is this node's own");

    // Without a proof: cosmjs requires `aunts`, which CometBFT leaves out
    // (omitempty) for a tx alone in its block; node/tests/rpc.rs checks
    // proofs with tendermint-rs.
    const found = await client.tx({ hash: committed.hash });
    assert.equal(found.height, h);
    assert.equal(hex(found.hash), hex(committed.hash));
    const search = await client.txSearch({ query: `tx.height=${h}` });
    assert.ok(search.totalCount >= 1);
    const all = await client.txSearchAll({ query: `transfer.to='${fixture.recipient}'`, per_page: 1 });
    assert.ok(all.totalCount >= 2, `two transfers at least, got ${all.totalCount}`);
    const blocks = await client.blockSearch({ query: `block.height >= ${h}` });
    assert.ok(blocks.totalCount >= 1);
    assert.equal(blocks.blocks[0].block.header.height, h);
    const allBlocks = await client.blockSearchAll({ query: `block.height <= 3`, per_page: 1 });
    assert.equal(allBlocks.totalCount, 3);

    const validators = await client.validators({ height: h });
    assert.equal(validators.total, 1);
    assert.ok(validators.validators[0].votingPower > 0n);
    const allValidators = await client.validatorsAll(h);
    assert.equal(allValidators.validators.length, 1);
    const query = await client.abciQuery({ path: `/account/${fixture.recipient}`, data: new Uint8Array() });
    assert.equal(query.code, 0, query.log);
    assert.ok(query.value.length > 0);

    // The subscriptions delivered.
    const event = await newBlock;
    assert.ok(event.header.height >= 1);
    const header = await newHeader;
    assert.ok(header.height >= 1);
    const tx = await txEvent;
    assert.equal(tx.result.code, 0);
    assert.equal(tx.hash.length, 32);
  } finally {
    ws.disconnect();
    client.disconnect();
  }
});
