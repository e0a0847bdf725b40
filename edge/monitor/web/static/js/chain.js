// The audit hash chain, recomputed as the store computes it:
// hash = sha256(prev || canonical), canonical = "dozor/audit/v1\0" ||
// u64be(seq) || u64be(at_ms) || for actor, action, object, detail:
// u32be(len(utf8)) || utf8. The first entry's prev is 32 zero bytes.
import { digest, hex } from './sha256.js';

const TAG = new TextEncoder().encode('dozor/audit/v1\u0000');

export function canonical(e) {
  const enc = new TextEncoder();
  const fields = [e.actor, e.action, e.object, e.detail].map((s) => enc.encode(s || ''));
  const size = TAG.length + 16 + fields.reduce((n, f) => n + 4 + f.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(TAG);
  let off = TAG.length;
  view.setBigUint64(off, BigInt(e.seq));
  view.setBigUint64(off + 8, BigInt(e.at_ms));
  off += 16;
  for (const f of fields) {
    view.setUint32(off, f.length);
    out.set(f, off + 4);
    off += 4 + f.length;
  }
  return out;
}

export async function entryHash(prevHex, e) {
  const c = canonical(e);
  const buf = new Uint8Array(32 + c.length);
  for (let i = 0; i < 32; i++) buf[i] = parseInt(prevHex.slice(i * 2, i * 2 + 2), 16) || 0;
  buf.set(c, 32);
  return hex(await digest(buf));
}

export const ZERO = '0'.repeat(64);

// Verifier checks entries fed in seq order, page by page; the first
// problem stops it and is kept in broken.
export class Verifier {
  constructor() {
    this.prev = ZERO;
    this.seq = 0;
    this.count = 0;
    this.broken = null; // {seq, why}
  }

  async add(entries) {
    for (const e of entries) {
      if (this.broken) return false;
      const want = this.seq + 1;
      if (e.seq !== want) {
        this.broken = { seq: want, why: 'gap', got: e.seq };
        return false;
      }
      if ((e.prev || '').toLowerCase() !== this.prev) {
        this.broken = { seq: e.seq, why: 'link' };
        return false;
      }
      const h = await entryHash(this.prev, e);
      if (h !== (e.hash || '').toLowerCase()) {
        this.broken = { seq: e.seq, why: 'hash' };
        return false;
      }
      this.prev = h;
      this.seq = e.seq;
      this.count++;
    }
    return true;
  }
}
