import { createInterface } from 'node:readline'

/** The whole of stdin (a piped password, a piped file name list), trailing newline removed. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

/** A password: from stdin when asked to (or when stdin is not a terminal), else typed without echo. */
export async function readSecret(question: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return readStdin()
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  // Echo nothing of what is typed; the question itself is written before muting.
  process.stderr.write(question)
  const writable = rl as unknown as { _writeToOutput: (text: string) => void }
  writable._writeToOutput = () => {}
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve))
  } finally {
    rl.close()
    process.stderr.write('\n')
  }
}
