import { createHash } from 'node:crypto'
import { CacheKeyError, InvalidOptionError } from '../errors.js'
import { DEFAULT_MAX_KEY_LENGTH, MAX_KEY_COMPONENT_LENGTH } from './defaults.js'

/** A value that can fill a key template slot. Hashed slots (`{q#}`) accept any JSON-like value. */
export type KeyPart = string | number | boolean | bigint

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/
const SLOT_PATTERN = /\{([A-Za-z_][A-Za-z0-9_]*)(#?)\}/g
const SAFE_COMPONENT = /^[A-Za-z0-9_.-]+$/

/**
 * Check a raw key: a non-empty string of at most `maxLength` UTF-16 units without NUL.
 *
 * @throws CacheKeyError naming the reason
 */
export function assertKey(key: unknown, maxLength = DEFAULT_MAX_KEY_LENGTH): asserts key is string {
  if (typeof key !== 'string') throw new CacheKeyError(key, 'a key must be a string')
  if (key.length === 0) throw new CacheKeyError(key, 'a key must not be empty')
  if (key.length > maxLength) {
    throw new CacheKeyError(key, `a key must be at most ${maxLength} characters long (option "maxKeyLength")`)
  }
  if (key.includes('\0')) throw new CacheKeyError(key, 'a key must not contain NUL')
}

/** Check a namespace name: 1-64 characters of `A-Z a-z 0-9 _ . -`. */
export function assertName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new InvalidOptionError('namespace', name, 'a name of 1-64 characters among A-Z a-z 0-9 _ . -')
  }
}

/** Check a tag: same rules as a key. */
export function assertTag(tag: unknown): asserts tag is string {
  assertKey(tag)
}

function hashPart(text: string): string {
  return `~h${createHash('sha256').update(text).digest('base64url')}`
}

/**
 * Encode one key component so that no input can collide with another or escape its slot:
 * everything but `A-Z a-z 0-9 _ . -` is percent-encoded (`:`, `*`, `{`, `}`, NUL, `~`, `%`...),
 * the empty string becomes `~`, and a component longer than {@link MAX_KEY_COMPONENT_LENGTH}
 * becomes `~h<sha256>`. `~` never appears in an encoded component otherwise.
 *
 * @example
 * encodeKeyComponent('a:b') // 'a%3Ab'
 */
export function encodeKeyComponent(value: KeyPart): string {
  const text = typeof value === 'string' ? value : String(value)
  if (text.length === 0) return '~'
  if (text.length <= MAX_KEY_COMPONENT_LENGTH && SAFE_COMPONENT.test(text)) return text
  const encoded = encodeURIComponent(text).replace(
    /[!'()*~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return encoded.length > MAX_KEY_COMPONENT_LENGTH ? hashPart(text) : encoded
}

function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? 'undefined')
  }
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(record[k])}`).join(',')}}`
}

/** A compiled key template. */
export type KeyBuilder<P extends string> = (params: Readonly<Record<P, unknown>>) => string

/**
 * Compile a key template. `{name}` slots are encoded with {@link encodeKeyComponent}; `{name#}`
 * slots are always hashed (use them for free-form input such as search queries; objects are
 * hashed in a key-order independent way).
 *
 * @example
 * const userKey = keyTemplate('users:{id}')
 * userKey({ id: 42 }) // 'users:42'
 * const searchKey = keyTemplate('search:users:{q#}')
 * searchKey({ q: { text: 'ann', page: 2 } }) // 'search:users:~h...'
 *
 * @throws InvalidOptionError when the template has no valid shape
 */
export function keyTemplate<P extends string = string>(template: string): KeyBuilder<P> {
  if (typeof template !== 'string' || template.length === 0) {
    throw new InvalidOptionError('template', template, "a key template such as 'users:{id}'")
  }
  const literals: string[] = []
  const slots: { name: string; hashed: boolean }[] = []
  let last = 0
  for (const match of template.matchAll(SLOT_PATTERN)) {
    literals.push(template.slice(last, match.index))
    slots.push({ name: match[1] as string, hashed: match[2] === '#' })
    last = match.index + match[0].length
  }
  literals.push(template.slice(last))
  for (const literal of literals) {
    if (/[{}\0]/.test(literal)) {
      throw new InvalidOptionError(
        'template',
        template,
        "literal text without '{', '}' or NUL and slots like {id} or {q#}",
      )
    }
  }
  return (params) => {
    let key = literals[0] as string
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as { name: string; hashed: boolean }
      const value = (params as Record<string, unknown>)[slot.name]
      if (slot.hashed) {
        key += hashPart(stableStringify(value))
      } else {
        if (
          typeof value !== 'string' &&
          typeof value !== 'number' &&
          typeof value !== 'boolean' &&
          typeof value !== 'bigint'
        ) {
          throw new CacheKeyError(
            value,
            `slot {${slot.name}} of template '${template}' needs a string, number, boolean or bigint`,
          )
        }
        key += encodeKeyComponent(value as KeyPart)
      }
      key += literals[i + 1] as string
    }
    return key
  }
}
