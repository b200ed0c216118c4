// The command tree: help everywhere, completion generated from it (and the committed scripts in
// contrib/completion kept in step), and the exit codes of usage errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { allCommands, buildProgram } from '../../../src/cli/program';
import { bashCompletion, commandTree, zshCompletion } from '../../../src/cli/completion';
import { describeRpcError, socketFromHost } from '../../../src/cli/connection';
import { status } from '@grpc/grpc-js';

const REPO = resolve(__dirname, '../../..');

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], { cwd: REPO, encoding: 'utf8' });
}

describe('command tree', () => {
  it('has the commands of this round, each with a description', () => {
    const { program } = buildProgram();
    const paths = commandTree(program).map((n) => n.path.join(' '));
    for (const c of ['run', 'create', 'start', 'stop', 'restart', 'kill', 'rm', 'ps', 'logs', 'exec', 'inspect', 'stats', 'top', 'port', 'wait',
      'pod ls', 'pod inspect', 'pod stop', 'pod rm', 'pull', 'images', 'rmi', 'image inspect', 'info', 'version', 'df', 'completion',
      'volume create', 'volume ls', 'volume inspect', 'volume rm']) {
      assert.ok(paths.includes(c), `${c} in ${paths.join(', ')}`);
    }
    for (const c of allCommands(program).slice(1)) assert.ok(c.description(), `${c.name()} has a description`);
  });

  it('bash completion is valid bash and the committed scripts are current', () => {
    const { program } = buildProgram();
    const bash = bashCompletion(program);
    execFileSync('bash', ['-n'], { input: bash });
    assert.match(bash, /"pod"\) words="ls ps inspect stop rm/);
    assert.match(bash, /"run"\) words="[^"]*--publish/);
    assert.match(bash, /"volume"\) words="create ls list inspect rm remove /);
    assert.match(bash, /"volume rm"\) words="[^"]*--force[^"]*"; dynamic="\$\(berth volume ls -q/);
    assert.match(bash, /"exec"\) words="[^"]*--user[^"]*--workdir[^"]*--env/);
    assert.equal(readFileSync(join(REPO, 'contrib/completion/berth.bash'), 'utf8'), `${bash}`, 'regenerate: berth completion bash > contrib/completion/berth.bash');
    assert.equal(readFileSync(join(REPO, 'contrib/completion/_berth'), 'utf8'), `${zshCompletion(program)}`, 'regenerate: berth completion zsh > contrib/completion/_berth');
  });

  it('completes words in bash', () => {
    const script = `${readFileSync(join(REPO, 'contrib/completion/berth.bash'), 'utf8')}
berth() { return 1; }
COMP_WORDS=(berth po); COMP_CWORD=1; _berth; echo "\${COMPREPLY[*]}"
COMP_WORDS=(berth pod r); COMP_CWORD=2; _berth; echo "\${COMPREPLY[*]}"
COMP_WORDS=(berth logs --t); COMP_CWORD=2; _berth; echo "\${COMPREPLY[*]}"`;
    const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n');
    assert.equal(out[0], 'port-forward port pod');
    assert.equal(out[1], 'rm');
    assert.equal(out[2], '--tail --timestamps');
  });
});

describe('main', () => {
  it('--help on commands exits 0', () => {
    for (const args of [['--help'], ['run', '--help'], ['pod', 'rm', '--help'], ['image', 'inspect', '--help'], ['volume', '--help'], ['volume', 'rm', '--help'], ['exec', '--help'], ['login', '--help']]) {
      const r = cli(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: berth /);
    }
  });
  it('usage errors are one line: 2, or 125 for run', () => {
    const r = cli(['ps', '--bogus']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "berth: unknown option '--bogus'\n");
    const run = cli(['run', '--bogus', 'img']);
    assert.equal(run.status, 125);
    const fmt = cli(['--host', 'unix:///nonexistent/berth.sock', 'ps', '--format', '{{.ID}}']);
    assert.equal(fmt.status, 2);
    assert.match(fmt.stderr, /^berth: unsupported --format "\{\{\.ID\}\}": use table or json\n$/);
    const tcp = cli(['--host', 'tcp://1.2.3.4:2375', 'ps']);
    assert.equal(tcp.status, 1);
    assert.match(tcp.stderr, /unix socket only/);
  });
});

describe('connection helpers', () => {
  it('reads --host forms', () => {
    assert.equal(socketFromHost(undefined), '/run/berth/berth.sock');
    assert.equal(socketFromHost('unix:///tmp/b.sock'), '/tmp/b.sock');
    assert.equal(socketFromHost('/tmp/b.sock'), '/tmp/b.sock');
    assert.throws(() => socketFromHost('http://x'), /unix socket only/);
  });
  it('maps gRPC failures to one readable line', () => {
    const e = (code: number, details: string) => Object.assign(new Error(details), { code, details, metadata: undefined as never });
    assert.equal(describeRpcError(e(status.UNAVAILABLE, 'No connection established. Last error: connect ENOENT /x.sock'), '/x.sock', 'Version', 30_000), 'cannot connect to berthd at /x.sock: is it running?');
    assert.equal(describeRpcError(e(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), '/x', 'PullImage', 30_000), 'berthd did not answer PullImage within 30s');
    assert.equal(describeRpcError(e(status.UNIMPLEMENTED, 'x'), '/x', 'Attach', 1000), 'berthd does not support Attach yet');
    assert.equal(describeRpcError(e(status.NOT_FOUND, 'image "x" not found'), '/x', 'ImageStatus', 1000), 'image "x" not found');
  });
});
