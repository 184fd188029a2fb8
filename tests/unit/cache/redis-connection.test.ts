import { createSentinel } from 'redis'
import { describe, expect, it } from 'vitest'
import { HOTPATH_REDIS_COMMANDS, hotpathAclRules } from '../../../src/cache/stores/redis/acl.js'
import { firstKeyOf } from '../../../src/cache/stores/redis/cluster-client.js'
import { keySlot } from '../../../src/cache/stores/redis/key-slot.js'
import {
  createRedisConnection,
  resolveRedisConnectionOptions,
} from '../../../src/cache/stores/redis/redis-connection.js'
import { ClusterClient } from '../../../src/cache/stores/redis/cluster-client.js'
import { parseRedisUrl } from '../../../src/cache/stores/redis/redis-url.js'
import { SentinelClient } from '../../../src/cache/stores/redis/sentinel-client.js'
import { redisStore } from '../../../src/cache/stores/redis/redis-store.js'
import { InvalidOptionError } from '../../../src/errors.js'

describe('Redis URLs', () => {
  it('parses standalone, TLS, ACL and cluster URLs', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toMatchObject({ cluster: false, tls: false })
    expect(parseRedisUrl('rediss://hp:p%40ss@cache.internal:6380/2')).toMatchObject({
      cluster: false,
      tls: true,
      username: 'hp',
      password: 'p@ss',
    })
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002')).toEqual({
      cluster: true,
      sentinel: undefined,
      tls: false,
      rootNodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:6379', 'redis://[::1]:7002'],
      username: undefined,
      password: undefined,
    })
    expect(parseRedisUrl('rediss+cluster://hotpath:s3cret@a:1,b:2/')).toMatchObject({
      cluster: true,
      tls: true,
      rootNodes: ['redis://a:1', 'redis://b:2'],
      username: 'hotpath',
      password: 's3cret',
    })
  })

  it('parses Sentinel URLs: Sentinel nodes (default port 26379) and the master name', () => {
    expect(parseRedisUrl('rediss+sentinel://u:p@10.0.0.1,10.0.0.2:5000/my%20master')).toEqual({
      cluster: false,
      sentinel: 'my master',
      tls: true,
      rootNodes: ['redis://10.0.0.1:26379', 'redis://10.0.0.2:5000'],
      username: 'u',
      password: 'p',
    })
    expect(parseRedisUrl('redis+sentinel://10.0.0.1:26379')).toBeUndefined() // no master name
    const resolved = resolveRedisConnectionOptions({ sentinel: { name: 'mymaster', rootNodes: ['h:26380'] } })
    expect(resolved.target).toMatchObject({
      sentinel: 'mymaster',
      cluster: false,
      rootNodes: ['redis://h:26380'],
    })
    expect(() => resolveRedisConnectionOptions({ sentinel: { name: '', rootNodes: ['h'] } })).toThrow(
      /sentinel/,
    )
    expect(createRedisConnection({ url: 'redis+sentinel://127.0.0.1:1/m' })).toBeInstanceOf(SentinelClient)
  })

  it('rejects anything else, with the accepted forms in the error', () => {
    for (const bad of [
      'http://x',
      'redis+cluster://',
      'localhost:6379',
      '',
      42,
      'redis+cluster://a:notaport',
    ]) {
      expect(parseRedisUrl(bad)).toBeUndefined()
    }
    expect(() => resolveRedisConnectionOptions({ url: 'http://x' })).toThrow(/redis\+cluster:\/\//)
    expect(() => redisStore({ url: 'memcached://x' })).toThrow(InvalidOptionError)
    expect(() => resolveRedisConnectionOptions({ cluster: { rootNodes: [] } })).toThrow(/cluster.rootNodes/)
  })

  it('refuses a node-redis Sentinel client (another command interface) instead of misusing it', () => {
    const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] })
    expect(() => redisStore({ client: sentinel })).toThrow(InvalidOptionError)
  })

  it('a cluster comes from the URL or the cluster option; options override URL credentials', () => {
    const fromOption = resolveRedisConnectionOptions({
      url: 'rediss://u:p@ignored:1',
      cluster: { rootNodes: ['10.0.0.1:7000', 'redis://10.0.0.2:7001'] },
      password: 'override',
    })
    expect(fromOption.target).toMatchObject({
      cluster: true,
      tls: true,
      rootNodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7001'],
    })
    expect(fromOption.username).toBe('u')
    expect(fromOption.password).toBe('override')
    expect(createRedisConnection({ url: 'redis+cluster://127.0.0.1:1' })).toBeInstanceOf(ClusterClient)
    expect(createRedisConnection({ url: 'redis://127.0.0.1:1' })).not.toBeInstanceOf(ClusterClient)
  })
})

describe('cluster routing', () => {
  it('keySlot follows the hash tag rules (known CLUSTER KEYSLOT values)', () => {
    expect(keySlot('foo')).toBe(12182)
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'))
    expect(keySlot('foo{}{bar}')).toBe(8363) // empty first tag: the whole key
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'))
    expect(keySlot('hp:v1:r0:k:{42}')).toBe(keySlot('hp:v1:r0:k:{42}\0L')) // a value and its lease
  })

  it('the slot of a command is decided by its key, scripts by their first key, streams after STREAMS', () => {
    expect(firstKeyOf(['GET', 'a'])).toBe('a')
    expect(firstKeyOf(['EVALSHA', 'sha', '2', 'k1', 'k2', 'arg'])).toBe('k1')
    expect(firstKeyOf(['EVAL', 'return 1', '0'])).toBeUndefined()
    expect(
      firstKeyOf(['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '10', 'BLOCK', '5', 'STREAMS', 's', '>']),
    ).toBe('s')
    expect(firstKeyOf(['XGROUP', 'CREATE', 'stream', 'g', '0', 'MKSTREAM'])).toBe('stream')
    expect(firstKeyOf(['PUBLISH', 'channel', 'message'])).toBeUndefined()
    expect(firstKeyOf(['WAIT', '1', '100'])).toBeUndefined()
  })
})

describe('minimal ACL', () => {
  it('builds ACL SETUSER rules: key and channel patterns, no command beyond the listed groups', () => {
    const rules = hotpathAclRules({ keys: ['app:*'], channels: ['app:*'], groups: ['cache', 'coherence'] })
    expect(rules.slice(0, 3)).toEqual(['~app:*', '&app:*', '-@all'])
    expect(rules.slice(3).sort()).toEqual(
      [...new Set([...HOTPATH_REDIS_COMMANDS.cache, ...HOTPATH_REDIS_COMMANDS.coherence])]
        .map((c) => `+${c}`)
        .sort(),
    )
    const all = hotpathAclRules().join(' ')
    for (const dangerous of ['keys', 'flushall', 'flushdb', 'scan', 'config', '@all ', '+@']) {
      expect(all).not.toContain(`+${dangerous}`)
    }
  })
})
