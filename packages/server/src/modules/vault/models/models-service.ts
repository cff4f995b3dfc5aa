import { randomBytes } from 'node:crypto'
import type { Db } from '../../../db/db.js'
import { constraintMessage } from '../../../db/db-errors.js'
import { AppError, notFound } from '../../../http/errors.js'
import { base32 } from '../../../lib/ids.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Principal } from '../../auth/auth-types.js'
import { createTableSql, migrationSql, tableRef } from './model-ddl.js'
import { IDENTIFIER, MAX_FIELDS, SYSTEM_FIELDS, type Model, type ModelDefinition } from './model-types.js'
import type { ModelsStore } from './models-store.js'

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { issues: [{ path, message }] })

/** Names become SQL identifiers, so they are held to one narrow shape before anything else. */
export function checkDefinition(definition: ModelDefinition): void {
  if (!IDENTIFIER.test(definition.name)) invalidName('body.name', definition.name)
  const names = Object.keys(definition.fields)
  if (names.length === 0) throw invalid('body.fields', 'a model needs at least one field')
  if (names.length > MAX_FIELDS) throw invalid('body.fields', `at most ${MAX_FIELDS} fields`)
  for (const name of names) {
    if (!IDENTIFIER.test(name)) invalidName(`body.fields.${name}`, name)
    if ((SYSTEM_FIELDS as readonly string[]).includes(name)) throw invalid(`body.fields.${name}`, `'${name}' is kept by the vault for every record`)
  }
  const key = definition.fields[definition.primaryKey]
  if (!key) throw invalid('body.primaryKey', `'${definition.primaryKey}' is not one of the fields`)
  if (key.type !== 'string' && key.type !== 'integer') throw invalid(`body.fields.${definition.primaryKey}.type`, 'a primary key is a string or an integer')
}

function invalidName(path: string, name: string): never {
  throw invalid(path, `'${name}' must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 63)`)
}

export function createModelsService({ db, store, audit }: { db: Db; store: ModelsStore; audit: Pick<AuditService, 'append'> }) {
  const mustGet = async (spaceId: string, name: string) => (await store.get(db, spaceId, name)) ?? Promise.reject(notFound('model', name))

  return {
    get: mustGet,
    list: (spaceId: string) => store.list(db, spaceId),

    async create(by: Principal, definition: ModelDefinition): Promise<Model> {
      checkDefinition(definition)
      const tableName = `vm_${base32(randomBytes(10))}`
      try {
        await db.transaction(async (tx) => {
          await store.insert(tx, by.spaceId, { ...definition, tableName })
          await store.execute(tx, createTableSql(tableName, definition))
          await audit.append(tx, by.spaceId, {
            event: 'vault/model_create',
            actor: by.actor,
            resources: [{ kind: 'vault_model', id: definition.name }],
            meta: { primaryKey: definition.primaryKey, fields: definition.fields },
          })
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a model named '${definition.name}' already exists` })
      }
      return mustGet(by.spaceId, definition.name)
    },

    /** Migrates the model's table: add and drop fields, widen types, toggle searchable and required. */
    async update(by: Principal, name: string, definition: Omit<ModelDefinition, 'name'>): Promise<Model> {
      const next = { ...definition, name }
      checkDefinition(next)
      try {
        await db.transaction(async (tx) => {
          const current = await store.get(tx, by.spaceId, name, true)
          if (!current) throw notFound('model', name)
          const statements = migrationSql(current, next, await store.rowCount(tx, current.tableName))
          await store.execute(tx, statements)
          await store.updateFields(tx, by.spaceId, name, next.fields)
          await audit.append(tx, by.spaceId, { event: 'vault/model_update', actor: by.actor, resources: [{ kind: 'vault_model', id: name }], meta: { fields: next.fields, ddl: statements.length } })
        })
      } catch (error) {
        throw constraintMessage(error, { notNull: `some records of '${name}' have no value for a field you made required; fill them in first` })
      }
      return mustGet(by.spaceId, name)
    },

    /** Drops the model and every record in it. */
    async delete(by: Principal, name: string): Promise<void> {
      await db.transaction(async (tx) => {
        const current = await store.get(tx, by.spaceId, name, true)
        if (!current) throw notFound('model', name)
        await store.execute(tx, [`DROP TABLE ${tableRef(current.tableName)}`])
        await store.delete(tx, by.spaceId, name)
        await audit.append(tx, by.spaceId, { event: 'vault/model_delete', actor: by.actor, resources: [{ kind: 'vault_model', id: name }] })
      })
    },
  }
}

export type ModelsService = ReturnType<typeof createModelsService>
