/** Characters RFC 8187 allows unencoded in an `ext-value` (attr-char). */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/

export interface ContentDispositionOptions {
  /**
   * `attachment` asks the browser to download; `inline` to display.
   * @default 'attachment'
   */
  type?: 'attachment' | 'inline'
}

/**
 * A `Content-Disposition` header value with a safe filename (RFC 6266): an ASCII `filename`
 * fallback with quotes, backslashes, path separators and control characters replaced, and the
 * exact UTF-8 name in `filename*`.
 *
 * @example
 * contentDisposition('élément "2024".csv')
 * // attachment; filename="_l_ment _2024_.csv"; filename*=UTF-8''%C3%A9l%C3%A9ment%20%222024%22.csv
 */
export function contentDisposition(filename: string, options: ContentDispositionOptions = {}): string {
  const type = options.type ?? 'attachment'
  // Only the last path segment: a name must never point into a directory.
  const base = filename.split(/[\\/]/).pop() ?? ''
  const clean =
    Array.from(base)
      .filter((char) => char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) !== 0x7f)
      .join('')
      .trim() || 'download'
  const fallback = clean.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = Array.from(new TextEncoder().encode(clean), (byte) => {
    const char = String.fromCharCode(byte)
    return byte < 0x80 && ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }).join('')
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`
}
