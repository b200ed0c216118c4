// Test PKI: a throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  cleanup(): void;
}

const OPENSSL = '/usr/bin/openssl';

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates a CA and a server cert (SAN IP:127.0.0.1, DNS:localhost) valid for one day. */
export function makeTestPki(): TestPki {
  if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} not found: install openssl (the TLS registry tests need it)`);
  const dir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  try {
    const caKey = join(dir, 'ca.key');
    const caCert = join(dir, 'ca.pem');
    const serverKey = join(dir, 'server.key');
    const serverCsr = join(dir, 'server.csr');
    const serverCert = join(dir, 'server.pem');
    const ext = join(dir, 'server.ext');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '1', '-subj', '/CN=berth test CA'], dir);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', serverKey, '-out', serverCsr, '-subj', '/CN=127.0.0.1'], dir);
    writeFileSync(
      ext,
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    openssl(
      ['x509', '-req', '-in', serverCsr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', serverCert, '-days', '1', '-extfile', ext],
      dir,
    );
    return { dir, caCert, caKey, serverCert, serverKey, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
