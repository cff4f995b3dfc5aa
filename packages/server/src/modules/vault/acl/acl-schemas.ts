/**
 * Reference 004's two JSON schemas, exactly as published: what the vault sends to a filter
 * endpoint and what it accepts back. Anything that does not validate against the response schema
 * is refused.
 */
export const ACL_REQUEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    action: {
      enum: ['v1.restapi.read', 'v1.restapi.write', 'v1.restapi.delete'],
    },
    type: {
      type: 'string',
    },
  },
  additionalProperties: {
    type: 'array',
    items: {
      type: 'string',
    },
  },
  required: ['type', 'action'],
  maxProperties: 3,
  minProperties: 3,
} as const

export const ACL_RESPONSE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: {
    oneOf: [
      {
        type: 'array',
        items: {
          type: 'string',
        },
      },
      {
        const: '*',
      },
    ],
  },
  maxProperties: 1,
  minProperties: 1,
} as const
