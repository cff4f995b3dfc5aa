/**
 * `npx tsx bench/bulk-staging.ts [--rows N] [--store pglite|postgres|both]`: the evidence behind
 * scenario 3's statement shape. Three ways to upsert a batch of 1,000 resources in a transaction,
 * their batches interleaved (A, B, C, A, B, C…) so a busy machine slows all three alike:
 *
 * - `jsonb`: one INSERT … SELECT FROM jsonb_to_recordset($2) … ON CONFLICT (what the server sends);
 * - `staged, drop`: CREATE TEMP TABLE … ON COMMIT DROP, COPY the batch into it, INSERT … SELECT … ON CONFLICT;
 * - `staged, keep`: the same with one temporary table per connection (IF NOT EXISTS … ON COMMIT DELETE ROWS);
 * - `probe + COPY` (what the server does on PostgreSQL for a batch of new keys): one primary-key probe
 *   per key, and when none exists, COPY straight into resources under a savepoint; else the jsonb upsert.
 *
 * Each runs twice over the same rows: first inserting, then repeating (nothing changes). Prints ms
 * per batch, per statement. Nothing else runs on the store meanwhile.
 */
import { performance } from 'node:perf_hooks'
import { Command, Option } from 'commander'
import { copyTextChunks } from '../packages/server/src/db/copy-text.js'
import { migrate } from '../packages/server/src/db/migrate.js'
import { customers } from './lib/data.js'
import { resolveStores, type StoreChoice } from './lib/runner.js'
import { openFreshStore } from './lib/stores.js'

const flags = new Command()
  .option('--rows <count>', 'rows per arm (whole batches of 1,000)', (value: string) => Number(value), 30_000)
  .addOption(new Option('--store <store>').choices(['pglite', 'postgres', 'both']))
  .parse()
  .opts<{ rows: number; store?: StoreChoice }>()

const BATCH = 1000
const COLUMNS = 'kind text NOT NULL, id text NOT NULL, display_name text NOT NULL, labels jsonb NOT NULL'
const ON_CONFLICT = `ON CONFLICT (space_id, kind, id) DO UPDATE SET display_name = excluded.display_name, labels = excluded.labels, updated_at = now()
  WHERE r.display_name IS DISTINCT FROM excluded.display_name OR r.labels IS DISTINCT FROM excluded.labels`
const ARMS = ['jsonb', 'staged, drop', 'staged, keep', 'probe + COPY'] as const
type Arm = (typeof ARMS)[number]

const { stores, adminUrl } = await resolveStores(flags.store)
for (const kind of stores) {
  const store = await openFreshStore(kind, { adminUrl })
  try {
    await migrate(store.db, async () => null)
    await store.db.query("INSERT INTO spaces (id, display_name) VALUES ('default', 'Default') ON CONFLICT DO NOTHING")
    // Each arm its own rows (kinds differ), so no arm finds another's.
    const batches = (arm: Arm) => {
      const rows = customers(Math.floor(flags.rows / BATCH) * BATCH).map((row) => ({ ...row, kind: `c${ARMS.indexOf(arm)}` }))
      return Array.from({ length: rows.length / BATCH }, (_, index) => rows.slice(index * BATCH, (index + 1) * BATCH))
    }
    const perArm = new Map(ARMS.map((arm) => [arm, batches(arm)]))
    const totals = new Map<string, number>()
    const add = (key: string, ms: number) => totals.set(key, (totals.get(key) ?? 0) + ms)
    const count = perArm.get('jsonb')!.length
    for (const pass of ['insert', 'repeat']) {
      for (let index = 0; index < count; index += 1) {
        for (const arm of ARMS) {
          const batch = perArm.get(arm)![index]!
          const started = performance.now()
          await store.db.transaction(async (tx) => {
            let lap = performance.now()
            const time = (step: string) => {
              const now = performance.now()
              add(`${arm} | ${pass} | ${step}`, now - lap)
              lap = now
            }
            if (arm === 'probe + COPY') {
              const { rows } = await tx.query<{ found: boolean }>(
                `SELECT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS k(kind, id),
                   LATERAL (SELECT 1 FROM resources r WHERE r.space_id = $1 AND r.kind = k.kind AND r.id = k.id LIMIT 1) AS hit) AS found`,
                ['default', batch.map((row) => row.kind), batch.map((row) => row.id)],
              )
              time('probe')
              if (!rows[0]!.found) {
                await tx.query('SAVEPOINT copy')
                const values = batch.map((row) => ['default', row.kind, row.id, row.displayName ?? '', JSON.stringify(row.labels ?? {})])
                await tx.copyFrom({ table: 'resources', columns: ['space_id', 'kind', 'id', 'display_name', 'labels'] }, copyTextChunks(values))
                await tx.query('RELEASE SAVEPOINT copy')
                return time('SAVEPOINT, COPY, RELEASE')
              }
            }
            if (arm === 'jsonb' || arm === 'probe + COPY') {
              const json = JSON.stringify(batch.map((row) => ({ kind: row.kind, id: row.id, display_name: row.displayName ?? '', labels: row.labels ?? {} })))
              await tx.query(
                `INSERT INTO resources AS r (space_id, kind, id, display_name, labels) SELECT $1, x.kind, x.id, x.display_name, x.labels
                 FROM jsonb_to_recordset($2::jsonb) AS x(kind text, id text, display_name text, labels jsonb) ORDER BY x.kind, x.id ${ON_CONFLICT}`,
                ['default', json],
              )
              return time('INSERT … jsonb_to_recordset')
            }
            const table = arm === 'staged, drop' ? 'staging_drop' : 'staging_keep'
            await tx.query(arm === 'staged, drop' ? `CREATE TEMP TABLE ${table} (${COLUMNS}) ON COMMIT DROP` : `CREATE TEMP TABLE IF NOT EXISTS ${table} (${COLUMNS}) ON COMMIT DELETE ROWS`)
            time('CREATE TEMP TABLE')
            const values = batch.map((row) => [row.kind, row.id, row.displayName ?? '', JSON.stringify(row.labels ?? {})])
            await tx.copyFrom({ table, columns: ['kind', 'id', 'display_name', 'labels'] }, copyTextChunks(values))
            time('COPY')
            await tx.query(`INSERT INTO resources AS r (space_id, kind, id, display_name, labels) SELECT $1, kind, id, display_name, labels FROM ${table} ORDER BY kind, id ${ON_CONFLICT}`, ['default'])
            time('INSERT … SELECT FROM staging')
          })
          add(`${arm} | ${pass} | whole transaction`, performance.now() - started)
        }
      }
    }
    process.stdout.write(`\n${kind} (${store.version}), ${count} batches of ${BATCH} per arm and pass, ms per batch:\n\n| arm | pass | step | ms |\n| --- | --- | --- | --- |\n`)
    for (const [key, ms] of totals) process.stdout.write(`| ${key.split(' | ').join(' | ')} | ${(ms / count).toFixed(2)} |\n`)
  } finally {
    await store.drop()
  }
}
