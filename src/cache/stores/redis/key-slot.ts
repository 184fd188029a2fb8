/**
 * Redis Cluster key slots: CRC16 (XMODEM) of the key's hash tag (the part between the first `{`
 * and the next `}`, when not empty) modulo 16384, as in the Redis Cluster specification. Written
 * here (a table and a loop) because node-redis computes slots internally but does not export it.
 */

export const CLUSTER_SLOTS = 16384

const TABLE = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number)
  }
  return crc
}

const OPEN = 0x7b // {
const CLOSE = 0x7d // }

/**
 * The cluster slot of a key.
 *
 * @example
 * keySlot('hp:v1:r0:{users}:1:k:42') === keySlot('{users}') // true: same hash tag, same slot
 */
export function keySlot(key: string | Buffer): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key
  let start = 0
  let end = bytes.length
  const open = bytes.indexOf(OPEN)
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE, open + 1)
    if (close > open + 1) {
      start = open + 1
      end = close
    }
  }
  return crc16(bytes, start, end) % CLUSTER_SLOTS
}
