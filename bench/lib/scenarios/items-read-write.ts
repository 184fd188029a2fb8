/**
 * Example TS scenario: 95 % reads of hot items, 5 % full replacements of the same keys (so writes
 * hit cached entries and exercise invalidation). Run it with
 * `hotpath bench http://127.0.0.1:3000 --scenario bench/lib/scenarios/items-read-write.ts`.
 */
import type { Scenario } from '../../../src/bench/index.js'

const scenario: Scenario = {
  requests: [
    { name: 'read', path: '/items/{id}', weight: 95 },
    {
      name: 'replace',
      method: 'PUT',
      path: '/items/{id}',
      weight: 5,
      body: {
        name: 'Bench item {id}',
        category: 'books',
        price: 1999,
        description: 'written by hotpath bench',
      },
    },
  ],
  params: { id: { values: '1..1000', dist: 'zipf' } },
}

export default scenario
