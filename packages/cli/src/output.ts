import { once } from 'node:events'

/** Writes to stdout and waits while the reader (a pipe, a slow disk) catches up: memory stays flat. */
export async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain')
}
