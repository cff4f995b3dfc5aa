import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ConfigError, readConfig } from '../src/config.js'
import { createOutboundClient, OutboundFailure } from '../src/lib/outbound/outbound-client.js'
import { checkOutboundUrl, decideAddress, decideHost, parseOutboundAllow, STRICT_OUTBOUND_POLICY } from '../src/lib/outbound/outbound-policy.js'
import { redactUrl } from '../src/lib/outbound/redact-url.js'
import { createLogger } from '../src/logger.js'

const strict = STRICT_OUTBOUND_POLICY
const rule = (ip: string, policy = strict, hostname?: string) => {
  const decision = decideAddress(ip, policy, hostname)
  return decision.allowed ? 'allowed' : decision.rule
}

describe('decideAddress', () => {
  it.each([
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fd00:ec2:0:0:0:0:0:254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['febf::1', 'link_local'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.1.2.3', 'private'],
    ['0.0.0.0', 'reserved'],
    ['0.1.2.3', 'reserved'],
    ['::', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['ff02::1', 'reserved'],
    ['not-an-ip', 'reserved'],
    ['8.8.8.8', 'allowed'],
    ['172.32.0.1', 'allowed'],
    ['100.128.0.1', 'allowed'],
    ['2606:4700::1111', 'allowed'],
    ['::ffff:8.8.8.8', 'allowed'],
  ])('%s: %s', (ip, expected) => {
    expect(rule(ip)).toBe(expected)
  })

  it('opens loopback and private ranges only as far as the operator allows, never link-local or metadata', () => {
    const policy = parseOutboundAllow(['127.0.0.1/32', '10.0.0.0/8', '169.254.0.0/16', '100.100.100.200', 'fd00::/8', '::1', 'hooks.internal'])
    expect(rule('127.0.0.1', policy)).toBe('allowed')
    expect(rule('::ffff:127.0.0.1', policy)).toBe('allowed')
    expect(rule('127.0.0.2', policy)).toBe('loopback')
    expect(rule('::1', policy)).toBe('allowed')
    expect(rule('10.9.8.7', policy)).toBe('allowed')
    expect(rule('192.168.0.1', policy)).toBe('private')
    expect(rule('169.254.169.254', policy)).toBe('metadata')
    expect(rule('169.254.1.1', policy)).toBe('link_local')
    expect(rule('100.100.100.200', policy)).toBe('metadata')
    expect(rule('fd00:ec2::254', policy)).toBe('metadata')
    // A listed name opens private addresses for that name only, not for others resolving there.
    expect(rule('192.168.0.1', policy, 'hooks.internal.')).toBe('allowed')
    expect(rule('192.168.0.1', policy, 'other.internal')).toBe('private')
    expect(rule('169.254.169.254', policy, 'hooks.internal')).toBe('metadata')
  })

  it('says which rule refused, and how to lift it when it can be lifted', () => {
    expect(decideAddress('127.0.0.1', strict)).toEqual({ allowed: false, rule: 'loopback', message: 'loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them' })
    expect(decideAddress('169.254.169.254', strict)).toMatchObject({ message: 'cloud metadata addresses are always refused' })
  })
})

describe('checkOutboundUrl (save time)', () => {
  it.each([
    ['http://0x7f000001/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://127.1:5432/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://[::1]:8080/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://localhost:5432/', 'loopback'],
    ['http://api.localhost/', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'cloud metadata'],
    ['http://0xa9fea9fe/', 'cloud metadata'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'cloud metadata'],
    ['http://METADATA.GOOGLE.INTERNAL./', 'cloud metadata'],
    ['http://[fd00:ec2::254]/', 'cloud metadata'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://10.0.0.1/', 'private'],
    ['http://0.0.0.0:5432/', 'reserved'],
    ['http://user:pw@hooks.example.com/', 'user name or password'],
    ['ftp://hooks.example.com/', 'http:// or https://'],
    ['file:///etc/passwd', 'http:// or https://'],
    ['not a url', 'not a valid URL'],
  ])('%s is refused (%s)', (url, words) => {
    const check = checkOutboundUrl(url, strict)
    expect(check.ok).toBe(false)
    expect(check.ok ? '' : check.message).toContain(words)
  })

  it('accepts public hosts, names it cannot decide before resolving, and allowed loopback', () => {
    expect(checkOutboundUrl('https://hooks.example.com/x?token=1', strict).ok).toBe(true)
    expect(checkOutboundUrl('http://93.184.216.34:8080/', strict).ok).toBe(true)
    expect(checkOutboundUrl('http://127.0.0.1:3001/filter', parseOutboundAllow(['127.0.0.1'])).ok).toBe(true)
    expect(checkOutboundUrl('http://localhost:3001/filter', parseOutboundAllow(['127.0.0.0/8'])).ok).toBe(true)
    expect(decideHost('localhost', parseOutboundAllow(['localhost'])).allowed).toBe(true)
  })
})

describe('GATEHOUSE_OUTBOUND_ALLOW', () => {
  it('takes CIDRs, addresses and host names, and refuses anything else at start', () => {
    expect(readConfig({ GATEHOUSE_OUTBOUND_ALLOW: ' 127.0.0.1/32, 10.0.0.0/8 ,hooks.internal,::1,' }).outboundAllow).toEqual(['127.0.0.1/32', '10.0.0.0/8', 'hooks.internal', '::1'])
    expect(readConfig({}).outboundAllow).toEqual([])
    for (const bad of ['10.0.0.0/33', '10.0.0.0/8/1', 'http://x', 'a_b', '::1/129']) {
      expect(() => readConfig({ GATEHOUSE_OUTBOUND_ALLOW: bad }), bad).toThrow(ConfigError)
    }
    expect(() => readConfig({ GATEHOUSE_OUTBOUND_ALLOW: '10.0.0.0/33' })).toThrow(/GATEHOUSE_OUTBOUND_ALLOW: '10.0.0.0\/33'/)
  })
})

describe('redactUrl', () => {
  it.each([
    ['https://hooks.example.com/x?token=s3cret', 'https://hooks.example.com/x?…'],
    ['https://user:pw@hooks.example.com:8443/a/b', 'https://hooks.example.com:8443/a/b'],
    ['https://hooks.example.com/a#frag', 'https://hooks.example.com/a?…'],
    ['http://127.0.0.1:3001/filter-endpoint', 'http://127.0.0.1:3001/filter-endpoint'],
    ['/v1/oidc/callback?code=abc&state=def', '/v1/oidc/callback?…'],
    ['/v1/spaces/default', '/v1/spaces/default'],
    ['::not a url?secret=1', '[invalid url]'],
  ])('%s → %s', (raw, redacted) => {
    expect(redactUrl(raw)).toBe(redacted)
  })

  it('is applied to every url and request line the logger writes', () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    const logger = createLogger('info', sink)
    logger.info({ url: 'https://u:hunter2@hooks.example.com/in?token=query-secret' }, 'outbound')
    logger.info({ req: { method: 'GET', url: '/v1/oidc/callback?code=oidc-code-secret', headers: {} } }, 'incoming')
    const text = lines.join('')
    expect(text).toContain('https://hooks.example.com/in?…')
    expect(text).toContain('/v1/oidc/callback?…')
    for (const secret of ['hunter2', 'query-secret', 'oidc-code-secret']) expect(text).not.toContain(secret)
  })
})

describe('the outbound client at connect time', () => {
  it('checks the address a name resolves to when it connects (DNS rebinding), and logs the cause with the URL redacted', async () => {
    let hits = 0
    const server = createServer((_req, res) => {
      hits += 1
      res.end('{}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    // A public-looking name that passes the save-time check and then resolves to loopback.
    const rebinding = (_host: string, _options: object, callback: (error: null, addresses: Array<{ address: string; family: number }>) => void) =>
      callback(null, [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ])
    const refusing = createOutboundClient({ policy: STRICT_OUTBOUND_POLICY, logger: createLogger('warn', sink), resolve: rebinding })
    const allowing = createOutboundClient({ policy: parseOutboundAllow(['127.0.0.1/32', '93.184.216.34/32']), resolve: (host, options, callback) => rebinding(host, options, (error, addresses) => callback(error, addresses.slice(1))) })
    const request = { purpose: 'test', url: `http://rebind.example.com:${port}/hook?token=log-secret`, headers: {}, body: '{}', timeoutMs: 2000, maxBytes: 1024 }
    try {
      expect(checkOutboundUrl(request.url, STRICT_OUTBOUND_POLICY).ok).toBe(true)
      const failure = await refusing.send(request).then(
        () => null,
        (error: unknown) => error,
      )
      expect(failure).toBeInstanceOf(OutboundFailure)
      expect((failure as OutboundFailure).kind).toBe('unreachable')
      expect(hits).toBe(0)
      const log = lines.join('')
      expect(log).toContain('resolved to 127.0.0.1: loopback addresses are refused')
      expect(log).toContain(`http://rebind.example.com:${port}/hook?…`)
      expect(log).not.toContain('log-secret')
      // The same name, allowed: the request goes through, so the refusal above was the policy's.
      expect((await allowing.send(request)).status).toBe(200)
      expect(hits).toBe(1)
    } finally {
      await refusing.close()
      await allowing.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
