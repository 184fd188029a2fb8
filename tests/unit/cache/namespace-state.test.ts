import { describe, expect, it } from 'vitest'
import { NamespaceState } from '../../../src/cache/namespace-state.js'

function tree() {
  const root = new NamespaceState('hp:v1', '', undefined)
  const users = new NamespaceState('hp:v1', 'users', root)
  const admins = new NamespaceState('hp:v1', 'admins', users)
  for (const state of [root, users, admins]) state.setGen(0)
  return { root, users, admins }
}

/** The Redis Cluster hash tag: the first {...} with something inside. */
function hashTag(key: string): string {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

describe('Redis key layout', () => {
  it('keys that look like namespace segments never collide with namespaced keys', () => {
    const { root, users, admins } = tree()
    const keys = [
      root.redisKey('x'),
      root.redisKey('users'),
      users.redisKey('x'),
      users.redisKey('n:admins:0:k:x'),
      admins.redisKey('x'),
      admins.redisKey('k:x'),
      users.redisKey('admins:0:k:x'),
    ]
    expect(new Set(keys).size).toBe(keys.length)
  })

  it("a namespace's keys, generation and leases share one cluster hash tag", () => {
    const { users, admins } = tree()
    expect(hashTag(users.redisKey('1'))).toBe('users')
    expect(hashTag(admins.redisKey('1'))).toBe('users')
    expect(hashTag(users.genKey)).toBe('users')
    expect(hashTag(admins.genKey)).toBe('users')
    expect(hashTag(`${users.redisKey('a{b}')}\0L`)).toBe('users')
  })

  it('a bump changes the prefix and stamp of the namespace and its children only', () => {
    const { root, users, admins } = tree()
    const before = { users: users.redisKey('1'), admins: admins.redisKey('1'), root: root.redisKey('1') }
    const stamps = { users: users.stamp, admins: admins.stamp, root: root.stamp }
    expect(users.setGen(1)).toBe(true)
    expect(users.redisKey('1')).not.toBe(before.users)
    expect(admins.redisKey('1')).not.toBe(before.admins)
    expect(root.redisKey('1')).toBe(before.root)
    expect(users.stamp).not.toBe(stamps.users)
    expect(admins.stamp).not.toBe(stamps.admins)
    expect(root.stamp).toBe(stamps.root)
    expect(users.setGen(1)).toBe(false) // generations only grow
    expect(users.setGen(0)).toBe(false)
  })

  it('after forgetting, a refetched higher generation still changes the stamp', () => {
    const { users } = tree()
    users.setGen(3)
    const stamp = users.stamp
    users.forget()
    expect(users.known()).toBe(false)
    users.setGen(3)
    expect(users.stamp).toBe(stamp)
    users.forget()
    users.setGen(4)
    expect(users.stamp).not.toBe(stamp)
  })
})
