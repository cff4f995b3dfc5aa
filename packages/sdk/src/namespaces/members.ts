import type { BodyOf, QueryOf } from '../call.js'
import type { Call } from './call-type.js'

/** Sign-in and the caller's own identity. `signIn` needs no token: the client may have been made without one. */
export const authNamespace = (call: Call) => ({
  signIn: (body: BodyOf<'signIn'>) => call('signIn', { body }),
  /** Revokes the token this client sends. */
  signOut: () => call('signOut'),
  whoAmI: () => call('whoAmI'),
})

export const userNamespace = (call: Call) => ({
  list: (query: QueryOf<'listUsers'> = {}) => call('listUsers', { query }),
  get: (userId: string) => call('getUser', { path: { userId } }),
  create: (body: BodyOf<'createUser'>) => call('createUser', { body }),
  update: (userId: string, patch: BodyOf<'updateUser'>) => call('updateUser', { path: { userId }, body: patch }),
  delete: (userId: string) => call('deleteUser', { path: { userId } }),
  /** Signs the user out everywhere: tokens stop working, grants are revoked, open petitions cancelled. */
  deactivate: (userId: string) => call('deactivateUser', { path: { userId } }),
})

export const groupNamespace = (call: Call) => ({
  list: (query: QueryOf<'listGroups'> = {}) => call('listGroups', { query }),
  get: (groupId: string) => call('getGroup', { path: { groupId } }),
  create: (body: BodyOf<'createGroup'>) => call('createGroup', { body }),
  delete: (groupId: string) => call('deleteGroup', { path: { groupId } }),
  addMember: (groupId: string, userId: string) => call('addGroupMember', { path: { groupId, userId } }),
  removeMember: (groupId: string, userId: string) => call('removeGroupMember', { path: { groupId, userId } }),
})

export const serviceAccountNamespace = (call: Call) => ({
  list: (query: QueryOf<'listServiceAccounts'> = {}) => call('listServiceAccounts', { query }),
  get: (accountId: string) => call('getServiceAccount', { path: { accountId } }),
  create: (body: BodyOf<'createServiceAccount'>) => call('createServiceAccount', { body }),
  delete: (accountId: string) => call('deleteServiceAccount', { path: { accountId } }),
})

export const tokenNamespace = (call: Call) => ({
  list: (query: QueryOf<'listTokens'> = {}) => call('listTokens', { query }),
  get: (tokenId: string) => call('getToken', { path: { tokenId } }),
  revoke: (tokenId: string) => call('revokeToken', { path: { tokenId } }),
  /** A short-lived token acting as the user; its secret is in the answer, once. */
  issueForUser: (userId: string, body: BodyOf<'issueUserToken'> = {}) => call('issueUserToken', { path: { userId }, body }),
  /** A long-lived, scoped, revocable token; its secret is in the answer, once. */
  issueForServiceAccount: (accountId: string, body: BodyOf<'issueServiceAccountToken'>) =>
    call('issueServiceAccountToken', { path: { accountId }, body }),
})
