#!/usr/bin/env node
import { run } from './program.js'

const code = await run(process.argv)
// Idle keep-alive sockets and the like must not hold a finished command open.
process.exit(code)
