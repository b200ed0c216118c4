// Questions to the person at the terminal: a line, a secret (not echoed), a yes/no.
import { createInterface } from 'node:readline';

export function ask(question: string, opts: { secret?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (opts.secret) {
      // Write the question once, then swallow readline's echo of each key.
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      process.stderr.write(question);
      out._writeToOutput = () => undefined;
      rl.question('', (a) => {
        rl.close();
        process.stderr.write('\n');
        resolve(a);
      });
      return;
    }
    rl.question(question, (a) => {
      rl.close();
      resolve(a);
    });
  });
}

export async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test((await ask(`${question} [y/N] `)).trim());
}

/** All of stdin as text (for --password-stdin). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
