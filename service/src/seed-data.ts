/**
 * Deterministic generators for seed rows. The text is deliberately varied (unicode, commas, quotes,
 * newlines, leading `=`/`+`/`-`/`@`) so that exports and encoders are exercised by real data.
 */
import { hashToken, tokenForUser } from './auth/token.js'
import { mulberry32 } from './util/mulberry32.js'

export const CATEGORIES: readonly string[] = [
  'books',
  'electronics',
  'garden & outdoors',
  'toys, games',
  'café',
  'kitchen',
  'sports',
  'music "live"',
  'health',
  '日用品',
  'office',
  'pets',
]

const ADJECTIVES = [
  'Red',
  'Quiet',
  'Swift',
  'Rustic',
  'Naïve',
  'Crème',
  'Über',
  'Smart',
  'Tiny',
  'Giant',
  'Ergonomic',
  'Vintage',
  'Σοφό',
  'Zesty',
  '"Pro"',
]
const NOUNS = [
  'Lamp',
  'Chair',
  'Kettle',
  'Notebook',
  'Headphones',
  'Backpack',
  'Mug',
  'Keyboard',
  'Blender',
  'Tent',
  'Puzzle',
  'Guitar',
  'Scarf',
  'Drone',
  'Teapot 茶壶',
]
const WORDS = [
  'durable',
  'light',
  'made in Portugal',
  'hand-crafted',
  'with a 2-year warranty',
  'ships in 24h',
  'eco-friendly',
  'for kids, and adults',
  'the "best" in class',
  'señor approved',
  'fits 15" laptops',
  'très chic',
  '🚀 fast',
  'naïve art',
  'tab\tseparated',
]
const FORMULA_PREFIXES = ['=SUM(1,2)', '+1 555 0100', '-10% today', '@mention']
const FIRST_NAMES = ['Ana', 'Bo', 'Chloé', 'Dmitri', 'Eun-ji', 'François', 'Giulia', 'Hiro', 'Iñaki', 'Jo']
const LAST_NAMES = ['Silva', "O'Brien", 'Müller', 'Kim', 'Nakamura', 'García', 'Smith, Jr.', 'Łukasz', 'Ng']

/** 2024-01-01T00:00:00Z: seed timestamps fall in the year after it. */
const BASE_TIME_MS = Date.UTC(2024, 0, 1)
const YEAR_SECONDS = 365 * 24 * 3600

type Random = () => number

const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)] as T

function timestamp(random: Random): string {
  return new Date(BASE_TIME_MS + Math.floor(random() * YEAR_SECONDS) * 1000).toISOString()
}

function sentence(random: Random, words: number): string {
  const parts: string[] = []
  for (let i = 0; i < words; i++) parts.push(pick(random, WORDS))
  return parts.join(random() < 0.3 ? ', ' : ' ')
}

export interface SeedItem {
  id: number
  name: string
  category: string
  price: number
  description: string
  updated_at: string
  version: number
}

export interface SeedUser {
  id: number
  name: string
  email: string
  api_token_hash: string
  balance_cents: number
  created_at: string
}

export interface SeedPost {
  id: number
  user_id: number
  title: string
  body: string
  created_at: string
}

/** Independent streams per table, so changing one count does not change another table's rows. */
export function streamFor(seed: number, table: 'items' | 'users' | 'posts'): Random {
  const salt = table === 'items' ? 0x9e3779b9 : table === 'users' ? 0x85ebca6b : 0xc2b2ae35
  return mulberry32((seed ^ salt) >>> 0)
}

export function generateItem(random: Random, id: number): SeedItem {
  let description = sentence(random, 2 + Math.floor(random() * 6))
  const roll = random()
  if (roll < 0.01) description = `${pick(random, FORMULA_PREFIXES)} ${description}`
  else if (roll < 0.03) description = `${description}\nSecond line, "quoted".`
  return {
    id,
    name: `${pick(random, ADJECTIVES)} ${pick(random, NOUNS)} ${id}`,
    category: pick(random, CATEGORIES),
    price: 99 + Math.floor(random() * 99_900),
    description,
    updated_at: timestamp(random),
    version: 1,
  }
}

export function generateUser(random: Random, id: number, seed: number): SeedUser {
  return {
    id,
    name: `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`,
    email: `user${id}@example.com`,
    api_token_hash: hashToken(tokenForUser(seed, id)),
    balance_cents: Math.floor(random() * 1_000_000),
    created_at: timestamp(random),
  }
}

export function generatePost(random: Random, id: number, users: number): SeedPost {
  return {
    id,
    user_id: 1 + Math.floor(random() * users),
    title: sentence(random, 2 + Math.floor(random() * 3)),
    body: sentence(random, 8 + Math.floor(random() * 24)),
    created_at: timestamp(random),
  }
}
