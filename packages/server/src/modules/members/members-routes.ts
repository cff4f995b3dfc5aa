import { Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Cursor, Description, Email, EntityId, Name, Page, Role, SpaceId, SpaceParams, spaceAnd, Timestamp, withConflict } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import type { MembersService } from './members-service.js'

const Password = Type.String({ minLength: 12, maxLength: 256, description: 'At least 12 characters' })

const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Role,
  hasPassword: Type.Boolean(),
  groups: Type.Array(Type.String()),
  disabledAt: Type.Union([Timestamp, Type.Null()], { description: 'When the user was deactivated; null while active' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})

const GroupSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  members: Type.Array(Type.String()),
  createdAt: Timestamp,
})

const ServiceAccountSchema = Type.Object({ id: Type.String(), name: Type.String(), description: Type.String(), role: Role, createdAt: Timestamp })

const PageQuery = Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) })
const reader = { role: 'member', scope: 'space:read' } as const
const admin = { role: 'admin', scope: 'space:admin' } as const
const GroupMemberParams = Type.Object({ space: SpaceId, groupId: EntityId, userId: EntityId })

export function registerMembersRoutes(app: App, { members }: { members: MembersService }): void {
  app.post('/v1/spaces/:space/users', {
    schema: {
      operationId: 'createUser',
      tags: ['members'],
      params: SpaceParams,
      body: Type.Object({ email: Email, name: Name, role: Role, password: Type.Optional(Password) }, { additionalProperties: false }),
      response: { 201: UserSchema, ...withConflict },
    },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await members.createUser(principalOf(request), request.body)),
  })

  app.get('/v1/spaces/:space/users', {
    schema: { operationId: 'listUsers', tags: ['members'], params: SpaceParams, querystring: PageQuery, response: { 200: Page('users', UserSchema), ...authedErrors } },
    config: { access: reader },
    handler: async (request) => {
      const { items, nextCursor } = await members.listUsers(request.params.space, request.query.cursor ?? null, request.query.limit)
      return { users: items, nextCursor }
    },
  })

  app.get('/v1/spaces/:space/users/:userId', {
    schema: { operationId: 'getUser', tags: ['members'], params: spaceAnd('userId'), response: { 200: UserSchema, ...authedErrors } },
    config: { access: reader },
    handler: async (request) => members.getUser(request.params.space, request.params.userId),
  })

  app.patch('/v1/spaces/:space/users/:userId', {
    schema: {
      operationId: 'updateUser',
      tags: ['members'],
      params: spaceAnd('userId'),
      body: Type.Object({ name: Type.Optional(Name), role: Type.Optional(Role), password: Type.Optional(Password) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: UserSchema, ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) => members.updateUser(principalOf(request), request.params.userId, request.body),
  })

  app.delete('/v1/spaces/:space/users/:userId', {
    schema: { operationId: 'deleteUser', tags: ['members'], params: spaceAnd('userId'), response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await members.deleteUser(principalOf(request), request.params.userId)
      return reply.code(204).send(null)
    },
  })

  app.post('/v1/spaces/:space/users/:userId(^[A-Za-z0-9_-]+)::deactivate', {
    schema: {
      operationId: 'deactivateUser',
      tags: ['members'],
      summary: 'The user can no longer sign in, their tokens stop working, their grants are revoked and their open petitions cancelled',
      params: spaceAnd('userId'),
      response: { 200: UserSchema, ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) => members.deactivateUser(principalOf(request), request.params.userId),
  })

  app.post('/v1/spaces/:space/groups', {
    schema: {
      operationId: 'createGroup',
      tags: ['members'],
      params: SpaceParams,
      body: Type.Object({ name: Name, description: Type.Optional(Description) }, { additionalProperties: false }),
      response: { 201: GroupSchema, ...withConflict },
    },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await members.createGroup(principalOf(request), request.body)),
  })

  app.get('/v1/spaces/:space/groups', {
    schema: { operationId: 'listGroups', tags: ['members'], params: SpaceParams, querystring: PageQuery, response: { 200: Page('groups', GroupSchema), ...authedErrors } },
    config: { access: reader },
    handler: async (request) => {
      const { items, nextCursor } = await members.listGroups(request.params.space, request.query.cursor ?? null, request.query.limit)
      return { groups: items, nextCursor }
    },
  })

  app.get('/v1/spaces/:space/groups/:groupId', {
    schema: { operationId: 'getGroup', tags: ['members'], params: spaceAnd('groupId'), response: { 200: GroupSchema, ...authedErrors } },
    config: { access: reader },
    handler: async (request) => members.getGroup(request.params.space, request.params.groupId),
  })

  app.delete('/v1/spaces/:space/groups/:groupId', {
    schema: { operationId: 'deleteGroup', tags: ['members'], params: spaceAnd('groupId'), response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await members.deleteGroup(principalOf(request), request.params.groupId)
      return reply.code(204).send(null)
    },
  })

  app.put('/v1/spaces/:space/groups/:groupId/members/:userId', {
    schema: { operationId: 'addGroupMember', tags: ['members'], params: GroupMemberParams, response: { 200: GroupSchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => members.addGroupMember(principalOf(request), request.params.groupId, request.params.userId),
  })

  app.delete('/v1/spaces/:space/groups/:groupId/members/:userId', {
    schema: { operationId: 'removeGroupMember', tags: ['members'], params: GroupMemberParams, response: { 200: GroupSchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => members.removeGroupMember(principalOf(request), request.params.groupId, request.params.userId),
  })

  app.post('/v1/spaces/:space/service-accounts', {
    schema: {
      operationId: 'createServiceAccount',
      tags: ['members'],
      params: SpaceParams,
      body: Type.Object({ name: Name, description: Type.Optional(Description), role: Role }, { additionalProperties: false }),
      response: { 201: ServiceAccountSchema, ...withConflict },
    },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await members.createServiceAccount(principalOf(request), request.body)),
  })

  app.get('/v1/spaces/:space/service-accounts', {
    schema: {
      operationId: 'listServiceAccounts',
      tags: ['members'],
      params: SpaceParams,
      querystring: PageQuery,
      response: { 200: Page('serviceAccounts', ServiceAccountSchema), ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) => {
      const { items, nextCursor } = await members.listServiceAccounts(request.params.space, request.query.cursor ?? null, request.query.limit)
      return { serviceAccounts: items, nextCursor }
    },
  })

  app.get('/v1/spaces/:space/service-accounts/:accountId', {
    schema: { operationId: 'getServiceAccount', tags: ['members'], params: spaceAnd('accountId'), response: { 200: ServiceAccountSchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => members.getServiceAccount(request.params.space, request.params.accountId),
  })

  app.delete('/v1/spaces/:space/service-accounts/:accountId', {
    schema: { operationId: 'deleteServiceAccount', tags: ['members'], params: spaceAnd('accountId'), response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await members.deleteServiceAccount(principalOf(request), request.params.accountId)
      return reply.code(204).send(null)
    },
  })
}
