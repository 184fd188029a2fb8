/**
 * A value codec for the shared tier. `id` is one ASCII character stored in front of every payload,
 * so an instance can read entries written with another built-in codec.
 */
export interface Codec {
  readonly name: string
  /** One ASCII character other than `U`, `B` and `~` (reserved by the entry format). */
  readonly id: string
  encode(value: unknown): Buffer
  decode(bytes: Buffer): unknown
}
