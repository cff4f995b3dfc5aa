import { BlockList, isIP, isIPv4 } from 'node:net'

/**
 * Where Gatehouse may send requests (webhooks, external ACL, delegate). Pure: no DNS, no sockets.
 *
 * How it decides, in this order:
 * 1. cloud-metadata, link-local, unspecified, multicast and reserved addresses: always refused,
 *    whatever the operator allows;
 * 2. loopback, private, CGNAT and benchmark ranges: refused unless the operator allows the address
 *    (a CIDR of GATEHOUSE_OUTBOUND_ALLOW) or the host name it was resolved from (a name listed there);
 * 3. everything else (public addresses): allowed.
 * An IPv6 address that embeds an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible, NAT64
 * `64:ff9b::/96`) is decided as that IPv4 address.
 */
export interface OutboundPolicy {
  /** Operator-allowed loopback/private ranges. */
  readonly cidrs: BlockList
  /** Operator-allowed host names (lower case, no trailing dot). */
  readonly hosts: ReadonlySet<string>
}

export type OutboundRule = 'metadata' | 'link_local' | 'reserved' | 'loopback' | 'private'

export type Decision = { allowed: true } | { allowed: false; rule: OutboundRule; message: string }

export const ALLOW_VARIABLE = 'GATEHOUSE_OUTBOUND_ALLOW'

const MESSAGES: Record<OutboundRule, string> = {
  metadata: 'cloud metadata addresses are always refused',
  link_local: 'link-local addresses (169.254.0.0/16, fe80::/10) are always refused',
  reserved: 'unspecified, multicast and reserved addresses are always refused',
  loopback: `loopback addresses are refused unless ${ALLOW_VARIABLE} allows them`,
  private: `private network addresses are refused unless ${ALLOW_VARIABLE} allows them`,
}

const refused = (rule: OutboundRule): Decision => ({ allowed: false, rule, message: MESSAGES[rule] })

type Family = 'ipv4' | 'ipv6'

function ranges(entries: ReadonlyArray<readonly [string, number, Family]>): BlockList {
  const list = new BlockList()
  for (const [network, prefix, family] of entries) list.addSubnet(network, prefix, family)
  return list
}

/** AWS, GCP, Azure, OCI, DigitalOcean (169.254.169.254), AWS ECS (169.254.170.2), AWS IPv6, Alibaba. */
const METADATA = ranges([
  ['169.254.169.254', 32, 'ipv4'],
  ['169.254.170.2', 32, 'ipv4'],
  ['fd00:ec2::254', 128, 'ipv6'],
  ['100.100.100.200', 32, 'ipv4'],
])
const LINK_LOCAL = ranges([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
])
const RESERVED = ranges([
  ['0.0.0.0', 8, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
])
const LOOPBACK = ranges([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
])
const PRIVATE = ranges([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
])

/** Host names of metadata services; they resolve to the addresses above inside a cloud. */
const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal', 'metadata.tencentyun.com'])

/** The eight 16-bit groups of an IPv6 address in any textual form (`::`, embedded dotted quad). */
function ipv6Groups(ip: string): number[] {
  let text = ip.split('%')[0]!
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)))
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

/** `ip` as the IPv4 address it embeds, if it embeds one; otherwise as it is. */
export function canonicalAddress(ip: string): { address: string; family: Family } {
  if (isIPv4(ip)) return { address: ip, family: 'ipv4' }
  const g = ipv6Groups(ip)
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0)
  const mapped = zeros(0, 5) && g[5] === 0xffff
  const compatible = zeros(0, 6) && (g[6] !== 0 || g[7]! > 1)
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)
  if (mapped || compatible || nat64) {
    return { address: [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.'), family: 'ipv4' }
  }
  return { address: g.map((group) => group.toString(16)).join(':'), family: 'ipv6' }
}

export const normaliseHost = (host: string): string => host.toLowerCase().replace(/\.$/, '')

/**
 * Whether a connection to `ip` may be made. `hostname` is the name it was resolved from, if any:
 * a name the operator listed opens loopback/private addresses for that name only.
 */
export function decideAddress(ip: string, policy: OutboundPolicy, hostname?: string): Decision {
  if (isIP(ip) === 0) return refused('reserved')
  const { address, family } = canonicalAddress(ip)
  if (METADATA.check(address, family)) return refused('metadata')
  if (LINK_LOCAL.check(address, family)) return refused('link_local')
  if (RESERVED.check(address, family)) return refused('reserved')
  const rule: OutboundRule | null = LOOPBACK.check(address, family) ? 'loopback' : PRIVATE.check(address, family) ? 'private' : null
  if (rule === null) return { allowed: true }
  if (policy.cidrs.check(address, family)) return { allowed: true }
  if (hostname !== undefined && policy.hosts.has(normaliseHost(hostname))) return { allowed: true }
  return refused(rule)
}

/**
 * What can be decided about a host before resolving it: a literal IP (the WHATWG parser has
 * already turned `0x7f000001`, `2130706433` and `127.1` into `127.0.0.1`), a metadata name, or
 * `localhost`. Other names are decided on their resolved addresses at connect time.
 */
export function decideHost(host: string, policy: OutboundPolicy): Decision {
  const name = normaliseHost(host.startsWith('[') ? host.slice(1, -1) : host)
  if (isIP(name) !== 0) return decideAddress(name, policy)
  if (METADATA_HOSTS.has(name)) return refused('metadata')
  if (name === 'localhost' || name.endsWith('.localhost')) {
    if (policy.hosts.has(name)) return { allowed: true }
    return decideAddress('127.0.0.1', policy)
  }
  return { allowed: true }
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; message: string }

/** Save-time check of an outbound URL: http(s) only, no userinfo, and the host as `decideHost` sees it. */
export function checkOutboundUrl(raw: string, policy: OutboundPolicy): UrlCheck {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, message: 'is not a valid URL' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, message: `must be http:// or https://, got '${url.protocol}//'` }
  if (url.username !== '' || url.password !== '') return { ok: false, message: 'must not contain a user name or password' }
  const decision = decideHost(url.hostname, policy)
  return decision.allowed ? { ok: true, url } : { ok: false, message: `points at a refused address: ${decision.message}` }
}

/**
 * Reads the operator's allowance: CIDRs (`10.0.0.0/8`), single addresses (`127.0.0.1`) and host
 * names (`hooks.internal`). Throws with a message naming the bad entry.
 */
export function parseOutboundAllow(entries: readonly string[]): OutboundPolicy {
  const cidrs = new BlockList()
  const hosts = new Set<string>()
  for (const raw of entries) {
    const entry = raw.trim()
    if (entry === '') continue
    const [network = '', prefixText, extra] = entry.split('/')
    const version = isIP(network)
    if (version !== 0 && extra === undefined) {
      const max = version === 4 ? 32 : 128
      const prefix = prefixText === undefined ? max : Number(prefixText)
      if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) throw new Error(`'${entry}' has a prefix length outside 0-${max}`)
      const { address, family } = canonicalAddress(network)
      cidrs.addSubnet(address, family === 'ipv4' && version === 6 ? Math.max(0, prefix - 96) : prefix, family)
      continue
    }
    if (prefixText === undefined && /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(entry)) {
      hosts.add(normaliseHost(entry))
      continue
    }
    throw new Error(`'${entry}' is neither an IP address, a CIDR (10.0.0.0/8) nor a host name`)
  }
  return { cidrs, hosts }
}

/** Nothing private allowed: the default. */
export const STRICT_OUTBOUND_POLICY: OutboundPolicy = parseOutboundAllow([])
