/**
 * First characters that make a spreadsheet evaluate a cell as a formula (OWASP "CSV Injection"):
 * `=`, `+`, `-`, `@`, tab and carriage return.
 */
const FORMULA_TRIGGERS = new Set([0x3d, 0x2b, 0x2d, 0x40, 0x09, 0x0d])

/** Characters that can appear in `String(number)`; a delimiter among them would need quoting. */
const NUMBER_CHARACTERS = /[0-9.eE+\-InfityNa]/

export interface CsvCellFormat {
  delimiter: string
  neutralizeFormulas: boolean
}

/**
 * Build the function that renders one value as one CSV field: `null`/`undefined` → empty, numbers
 * and bigints unformatted, dates as ISO 8601, booleans as `true`/`false`, other objects as JSON;
 * strings that start a formula get a leading `'`; fields holding the delimiter, a quote, CR or LF
 * are quoted with inner quotes doubled (RFC 4180).
 */
export function csvCellEncoder(format: CsvCellFormat): (value: unknown) => string {
  const { delimiter, neutralizeFormulas } = format
  const needsQuotes = new RegExp(`["\\r\\n]|${escapeRegExp(delimiter)}`)
  const numbersNeedCheck = NUMBER_CHARACTERS.test(delimiter)

  const text = (value: string): string => {
    if (neutralizeFormulas && value.length > 0 && FORMULA_TRIGGERS.has(value.charCodeAt(0))) {
      value = `'${value}`
    }
    return needsQuotes.test(value) ? `"${value.replaceAll('"', '""')}"` : value
  }

  return (value: unknown): string => {
    switch (typeof value) {
      case 'string':
        return text(value)
      case 'number':
      case 'bigint': {
        const rendered = String(value)
        return numbersNeedCheck && needsQuotes.test(rendered) ? `"${rendered}"` : rendered
      }
      case 'boolean':
        return value ? 'true' : 'false'
      case 'undefined':
        return ''
      case 'object':
        if (value === null) return ''
        if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString()
        if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
        return text(JSON.stringify(value))
      default:
        return text(String(value))
    }
  }
}

function escapeRegExp(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
}
