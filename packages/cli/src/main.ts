#!/usr/bin/env node
import { run } from './program.js'

// The environment is read here, once; commands get it through their context.
const code = await run(process.argv, process.env)
// A pipe may still hold output (`gatehouse audit export | wc -l`): exit only once it is written;
// then exit at once, so idle keep-alive sockets do not hold a finished command open.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()))
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
process.exit(code)
