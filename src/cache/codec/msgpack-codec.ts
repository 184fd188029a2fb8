import { Packr } from 'msgpackr'
import type { Codec } from './codec.js'

/**
 * msgpack codec (msgpackr with record structures). Every payload carries its own record
 * definitions, so instances never need to share structure state. Bytes come back as `Buffer`.
 *
 * @example
 * createCache({ l2: redisStore({ url, codec: msgpackCodec() }) })
 */
export function msgpackCodec(): Codec {
  const packr = new Packr({ useRecords: true, moreTypes: false, copyBuffers: true })
  return Object.freeze({
    name: 'msgpack',
    id: 'M',
    encode: (value: unknown): Buffer => packr.pack(value),
    decode: (bytes: Buffer): unknown => packr.unpack(bytes),
  })
}
