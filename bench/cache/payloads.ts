/** The payloads every cache benchmark uses: a ~1 KB item object and a 50-item page. */

export interface BenchItem {
  id: number
  name: string
  category: string
  price: number
  inStock: boolean
  tags: string[]
  description: string
  updatedAt: string
  version: number
}

const WORDS = ['fast', 'cache', 'item', 'blue', 'steel', 'garden', 'river', 'paper', 'stone', 'light']

export function makeItem(id: number): BenchItem {
  let description = ''
  for (let i = 0; description.length < 820; i++) description += `${WORDS[(id + i * 7) % WORDS.length]} `
  return {
    id,
    name: `Item ${id}`,
    category: `category-${id % 17}`,
    price: Math.round(((id * 37) % 10_000) + 99) / 100,
    inStock: id % 3 !== 0,
    tags: ['new', `t${id % 5}`, `t${id % 11}`],
    description: description.trimEnd(),
    updatedAt: new Date(Date.UTC(2026, 0, 1) + id * 60_000).toISOString(),
    version: (id % 9) + 1,
  }
}

export const ITEM = makeItem(42)
export const PAGE = {
  page: 1,
  size: 50,
  total: 10_000,
  items: Array.from({ length: 50 }, (_, i) => makeItem(i + 1)),
}
