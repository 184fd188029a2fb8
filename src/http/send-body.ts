/**
 * The form of a text body that Node sends cheapest. A string goes out in one write together with
 * the header block, but Node measures it (UTF-8 length), joins it to the headers and encodes it on
 * every send; for ASCII that is nearly free, while a string holding any character past Latin-1 is
 * two-byte in V8 and each of those steps walks it again. Bytes are written as they are.
 *
 * Measured with `npx tsx bench/profiling/attribution.ts --set payload` (plain node:http, one item
 * of about 200 bytes): a non-ASCII string costs about 2.8 µs of CPU per request more than its
 * bytes, an ASCII string about 2.2 µs less; through Fastify the non-ASCII string costs about 10 µs
 * more (Fastify measures it again for Content-Length).
 */

/**
 * `text` itself when it is ASCII, else its UTF-8 bytes. `owned` gives the bytes their own memory
 * instead of a view into Node's shared 8 KiB pool: use it for bodies kept beyond the request (a
 * pooled view keeps its whole slab alive).
 *
 * @example
 * return reply.type('application/json').send(sendableBody(JSON.stringify(item)))
 */
export function sendableBody(text: string, owned = false): string | Buffer {
  const length = Buffer.byteLength(text)
  if (length === text.length) return text
  return owned ? ownedUtf8(text, length) : Buffer.from(text)
}

/**
 * The UTF-8 bytes of `text` in memory of their own, for bytes kept beyond the request (a cache
 * entry): `Buffer.from` gives a short text a view into Node's shared 8 KiB pool, and one kept
 * view keeps its whole slab alive.
 */
export function ownedUtf8(text: string, length = Buffer.byteLength(text)): Buffer {
  const bytes = Buffer.allocUnsafeSlow(length)
  bytes.write(text)
  return bytes
}

/**
 * `body` (UTF-8 bytes of `text`) or `text`, whichever Node sends cheapest: the string when it is
 * ASCII (then both have the same length), else the bytes already at hand.
 */
export function cheaperOf(text: string, body: Buffer): string | Buffer {
  return body.length === text.length ? text : body
}

/**
 * A body to keep beyond the request, in the form {@link sendableBody} gives: an ASCII string as it
 * is, anything else as bytes with memory of their own (bytes given as a view into a larger buffer,
 * such as Node's shared pool, are copied).
 */
export function keptBody(body: string | Buffer): string | Buffer {
  return typeof body === 'string' ? sendableBody(body, true) : ownedBytes(body)
}

/** `bytes` when they own their memory, else a copy that does (see {@link ownedUtf8}). */
export function ownedBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes
  const copy = Buffer.allocUnsafeSlow(bytes.length)
  bytes.copy(copy)
  return copy
}
