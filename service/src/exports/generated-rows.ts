/** One generated row, as in the seed chapter's example: `id, name, value`. */
export interface GeneratedRow {
  id: number
  name: string
  value: number
}

/** The seed chapter's 1,000,000-row example data: `i, item_<i>, i * 1.5` for i from 0. */
export function* generatedRows(count: number): Generator<GeneratedRow> {
  for (let id = 0; id < count; id++) yield { id, name: `item_${id}`, value: id * 1.5 }
}
