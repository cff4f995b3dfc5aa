import SerializerSelector from '@fastify/fast-json-stringify-compiler'

type SerializerFactory = ReturnType<typeof SerializerSelector>
type CompileSerializer = ReturnType<SerializerFactory>

/**
 * Fastify's own response serializer compiler (fast-json-stringify), compiling each distinct schema
 * once. Every route declares the same error envelope for each of its error statuses, so without
 * this a start compiled several hundred identical serializers: about 1.3 s of the 1.9 s buildApp
 * took, paid again by every test file and benchmark scenario that builds an app.
 */
export function cachedSerializerFactory(): SerializerFactory {
  const build = SerializerSelector()
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options)
    const compiled = new Map<string, ReturnType<CompileSerializer>>()
    return (context) => {
      // The schema's text is its identity: equal text compiles to an equal serializer.
      const key = JSON.stringify(context.schema)
      let serializer = compiled.get(key)
      if (!serializer) {
        serializer = compile(context)
        compiled.set(key, serializer)
      }
      return serializer
    }
  }
}
