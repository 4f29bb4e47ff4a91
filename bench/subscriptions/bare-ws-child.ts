/**
 * The floor under the gateway's fan-out: a plain `ws` server in a process of its own that speaks just enough
 * graphql-transport-ws for the client processes (it acknowledges every connection and notes each subscription's
 * id) and, told a price over IPC, writes one `next` message to every subscription, serialising the result once and
 * writing it with each subscription's id, as the gateway does, with no GraphQL, Kafka or subgraph in the way. What a
 * tick costs it is what writing to that many sockets costs on this machine.
 */
import { type WebSocket, WebSocketServer } from 'ws';
import type { BareCommand, BareMessage } from './bare-ws.js';

const subscriptions = new Map<WebSocket, string[]>();
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
const send = (message: BareMessage) => process.send?.(message);

server.on('connection', (socket) => {
  subscriptions.set(socket, []);
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string };
    if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (message.type === 'subscribe' && message.id !== undefined) subscriptions.get(socket)?.push(`{"id":${JSON.stringify(message.id)},"type":"next","payload":`);
    else if (message.type === 'ping') socket.send('{"type":"pong"}');
  });
  socket.on('close', () => subscriptions.delete(socket));
});
server.on('listening', () => {
  const address = server.address();
  if (typeof address === 'object' && address) send({ kind: 'listening', url: `ws://127.0.0.1:${address.port}/graphql` });
});
process.on('message', (command: BareCommand) => {
  if (command.kind !== 'tick') return;
  const payload = JSON.stringify({ data: { priceUpdated: { value: command.value } } });
  for (const [socket, prefixes] of subscriptions) {
    if (socket.readyState !== socket.OPEN) continue;
    for (const prefix of prefixes) socket.send(`${prefix}${payload}}`);
  }
});
// The benchmark closing the channel, or going away, ends this process.
process.on('disconnect', () => process.exit(0));
