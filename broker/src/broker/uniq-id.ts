// UNIQ_KEY ids for messages that arrive without one (RocketMQ 5 brokers add them):
// 16 bytes = IPv4 + pid + random per process + ms since the start of the month + counter.
import { randomBytes } from 'node:crypto';

const fixed = Buffer.alloc(10);
let counter = 0;

export function initUniqIdPrefix(ipv4: string): void {
  const parts = ipv4.split('.').map(Number);
  for (let i = 0; i < 4; i++) fixed[i] = parts[i] ?? 0;
  fixed.writeUInt16BE(process.pid & 0xffff, 4);
  randomBytes(4).copy(fixed, 6);
}
initUniqIdPrefix('127.0.0.1');

export function createUniqId(now = Date.now()): string {
  const d = new Date(now);
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const b = Buffer.allocUnsafe(16);
  fixed.copy(b, 0);
  b.writeUInt32BE((now - monthStart) >>> 0, 10);
  b.writeUInt16BE(counter, 14);
  counter = (counter + 1) & 0xffff;
  return b.toString('hex').toUpperCase();
}
