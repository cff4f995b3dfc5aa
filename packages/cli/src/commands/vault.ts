import type { Command } from 'commander'
import type { Context } from '../context.js'
export function registerVault(_program: Command, _context: Context): void {}
