import { type Message, MessageType, newMessage } from '@tsraft/raft-core';
import { TcpTransport } from '@tsraft/raft-transport-tcp';

// Two nodes of cluster "demo" on ephemeral ports of 127.0.0.1; node 2 answers heartbeats.
let answer!: (m: Message) => void;
const answered = new Promise<Message>((resolve) => (answer = resolve));

const n1 = new TcpTransport({ id: 1, clusterId: 'demo', listen: '127.0.0.1:0', onMessage: answer });
const n2: TcpTransport = new TcpTransport({
  id: 2,
  clusterId: 'demo',
  listen: '127.0.0.1:0',
  onMessage: (m) =>
    n2.send([
      newMessage({ type: MessageType.MsgHeartbeatResp, from: 2, to: m.from, term: m.term }),
    ]),
});
await Promise.all([n1.start(), n2.start()]);
n1.addPeer(2, n2.addr!); // with fixed ports: `peers: { 2: '10.0.0.2:7000' }` in the options
n2.addPeer(1, n1.addr!);

n1.send([newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 })]);
const reply = await answered;
console.log(`node 1 got ${MessageType[reply.type]} from node ${reply.from}`);
const { connection, messagesSent, bytesSent } = n1.stats().peers[0]!;
console.log({ connection, messagesSent, bytesSent });
await Promise.all([n1.stop(), n2.stop()]);
