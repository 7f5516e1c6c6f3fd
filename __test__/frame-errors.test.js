'use strict';
// Every malformed frame ends in the RFC 6455 close code, sent as a close frame, and the
// server then ends the connection. Raw bytes, because a real client never sends these.
const test = require('node:test');
const assert = require('node:assert/strict');
const { listen } = require('..');
const { upgraded, clientFrame, closePayload, eventually } = require('./helpers');

const cases = [
  ['unmasked client frame', 1002, () => clientFrame({ payload: 'hi', mask: false })],
  ['RSV1 without an extension', 1002, () => clientFrame({ rsv: 4, payload: 'hi' })],
  ['RSV3 on a ping', 1002, () => clientFrame({ rsv: 1, opcode: 9 })],
  ['reserved data opcode 3', 1002, () => clientFrame({ opcode: 3 })],
  ['reserved control opcode 11', 1002, () => clientFrame({ opcode: 11 })],
  ['ping with 126 bytes', 1002, () => clientFrame({ opcode: 9, payload: Buffer.alloc(126) })],
  ['fragmented ping', 1002, () => clientFrame({ opcode: 9, fin: false, payload: 'x' })],
  ['continuation with nothing to continue', 1002, () => clientFrame({ opcode: 0, payload: 'x' })],
  [
    'new text frame inside a fragmented message',
    1002,
    () => Buffer.concat([clientFrame({ fin: false, payload: 'a' }), clientFrame({ payload: 'b' })]),
  ],
  ['text that is not UTF-8', 1007, () => clientFrame({ payload: Buffer.from([0x68, 0xc3, 0x28]) })],
  [
    'invalid UTF-8 in the first fragment',
    1007,
    () => clientFrame({ fin: false, payload: Buffer.from([0xff]) }),
  ],
  [
    // Autobahn 6.4.3: the frame's end never comes; F4 90 is past U+10FFFF, which is certain at once.
    'invalid UTF-8 in a text frame whose end has not arrived',
    1007,
    () => clientFrame({ payload: Buffer.concat([Buffer.from('κόσμε'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.alloc(500, 97)]) }).subarray(0, 8 + 13),
  ],
  ['message over maxPayload', 1009, () => clientFrame({ payload: Buffer.alloc(2048, 97) })],
  [
    'fragments adding up over maxPayload',
    1009,
    () =>
      Buffer.concat([
        clientFrame({ fin: false, payload: Buffer.alloc(700, 97) }),
        clientFrame({ fin: false, opcode: 0, payload: Buffer.alloc(700, 97) }),
      ]),
  ],
  ['a 2^62-byte length header', 1009, () => clientFrame({ opcode: 2, len: 2 ** 62 }).subarray(0, 14)],
  ['close with a 1-byte payload', 1002, () => clientFrame({ opcode: 8, payload: Buffer.from([3]) })],
  ['close code 1005 (reserved)', 1002, () => clientFrame({ opcode: 8, payload: closePayload(1005) })],
  ['close code 1006 (reserved)', 1002, () => clientFrame({ opcode: 8, payload: closePayload(1006) })],
  ['close code 999', 1002, () => clientFrame({ opcode: 8, payload: closePayload(999) })],
  ['close code 2999 (unassigned)', 1002, () => clientFrame({ opcode: 8, payload: closePayload(2999) })],
  ['close code 5000', 1002, () => clientFrame({ opcode: 8, payload: closePayload(5000) })],
  [
    'close reason that is not UTF-8',
    1007,
    () => clientFrame({ opcode: 8, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]) }),
  ],
];

test('each malformed frame gets its close code, then the connection ends', async (t) => {
  const server = listen({ port: 0, maxPayload: 1024, closeTimeout: 1000 });
  t.after(() => server.dispose());
  const port = server.address().port;
  for (const [name, code, bytes] of cases) {
    const p = await upgraded(port);
    p.write(bytes());
    const close = await p.closeFrame();
    assert.equal(close.code, code, name);
    // The server half-closes after its close frame; we answer like a client would.
    await p.waitEnd(2000);
    p.destroy();
  }
  await eventually(() => server.stats().connections === 0, 3000, 'all connections to be gone');
});

test('valid close codes are echoed and the connection ends cleanly', async (t) => {
  const server = listen({ port: 0 });
  t.after(() => server.dispose());
  const port = server.address().port;
  for (const code of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
    const p = await upgraded(port);
    p.write(clientFrame({ opcode: 8, payload: closePayload(code, 'done') }));
    const close = await p.closeFrame();
    assert.equal(close.code, code);
    await p.waitEnd();
    p.destroy();
  }
  // An empty close payload is answered with an empty close.
  const p = await upgraded(port);
  p.write(clientFrame({ opcode: 8 }));
  const close = await p.closeFrame();
  assert.equal(close.code, null);
  await p.waitEnd();
});

test('a peer that never answers our close frame is dropped after closeTimeout', async (t) => {
  const server = listen({ port: 0, closeTimeout: 300 });
  t.after(() => server.dispose());
  const p = await upgraded(server.address().port);
  p.write(clientFrame({ mask: false, payload: 'x' }));
  assert.equal((await p.closeFrame()).code, 1002);
  // We keep our side open and silent; the server must not wait forever.
  assert.equal(server.stats().connections, 1);
  await eventually(() => server.stats().connections === 0, 2000, 'the close timeout to drop the peer');
  p.destroy();
});

test('a frame over maxPayload with more bytes behind it in one write: the client still gets what came before and the 1009 close', async (t) => {
  // After failing a connection the server must not drop the socket while bytes still
  // arrive: the kernel would answer with a reset and destroy the close frame in flight.
  const server = listen({ port: 0, maxPayload: 1024, closeTimeout: 3000 });
  t.after(() => server.dispose());
  for (let round = 0; round < 5; round++) {
    const p = await upgraded(server.address().port);
    const big = clientFrame({ opcode: 2, payload: Buffer.alloc(1 << 20, 7) });
    p.write(Buffer.concat([clientFrame({ payload: 'before' }), big, clientFrame({ payload: 'after' })]));
    const echo = await p.frame();
    assert.deepEqual([echo.opcode, String(echo.payload)], [1, 'before'], 'the message before the bad frame is answered');
    assert.deepEqual(await p.closeFrame(), { code: 1009, reason: 'message too big' });
    assert.equal(p.buf.length, 0, 'nothing after the close frame');
    await p.until(() => (p.ended ? true : undefined), 2000, 'the server to shut its write side');
    // The connection lingers, discarding what still comes, until we hang up.
    p.write(Buffer.alloc(64 << 10, 1));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.closed, false, 'not reset while we still send');
    assert.equal(server.stats().connections, 1);
    p.socket.end();
    await eventually(() => server.stats().connections === 0, 2000, 'the server to drop it once we hung up');
    await p.until(() => (p.closed ? true : undefined), 2000, 'our socket to close');
    p.destroy();
  }
});

test('a lingering connection whose peer never hangs up is dropped after closeTimeout', async (t) => {
  const server = listen({ port: 0, closeTimeout: 300 });
  t.after(() => server.dispose());
  const p = await upgraded(server.address().port);
  p.write(clientFrame({ opcode: 3 }));
  assert.equal((await p.closeFrame()).code, 1002);
  await p.until(() => (p.ended ? true : undefined), 2000, 'the server to shut its write side');
  assert.equal(server.stats().connections, 1);
  await eventually(() => server.stats().connections === 0, 2000, 'the close timeout to drop it');
  p.destroy();
});
