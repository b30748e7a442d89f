import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { repoRoot } from './arm.js';

/*
 * scripts/deploy.sh --dry-run against a fake `az` on PATH that records every call and answers lookups
 * like an empty subscription ("fresh") or one where everything exists already ("existing").
 */

const work = mkdtempSync(path.join(os.tmpdir(), 'clawback-deploy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const fakeAz = `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_AZ_LOG"
args="$*"
existing() { [ "$FAKE_AZ_STATE" = existing ]; }
case "$args" in
  "account show"*) printf 'tenant-1\\tops@contoso.com\\n' ;;
  "provider show"*) existing && echo Registered || echo NotRegistered ;;
  "group exists"*) existing && echo true || echo false ;;
  "ad signed-in-user show"*) echo me-object-id ;;
  "ad sp show --id 00000003-0000-0000-c000-000000000000"*)
    echo "role-$(printf '%s' "$args" | sed -n "s/.*value=='\\([^']*\\)'.*/\\1/p")" ;;
  *)
    existing || exit 3
    case "$args" in
      *"outputs.name.value"*) echo func-clawback-abc ;;
      *"outputs.functionAppUrl.value"*) echo https://func-clawback-abc.azurewebsites.net ;;
      *"outputs.keyVaultName.value"*) echo kv-clawback-abc ;;
      "keyvault show"*) echo /subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-clawback-abc ;;
      "role assignment list"*) echo ra-1 ;;
      "keyvault certificate show"*"x509ThumbprintHex"*) echo ABCDEF0123 ;;
      "keyvault certificate show"*) echo https://kv-clawback-abc.vault.azure.net/certificates/clawback-graph ;;
      "ad app list"*) echo app-id-1 ;;
      "ad sp show"*) echo sp-object-id ;;
      "ad app permission list"*) printf 'role-Mail.ReadWrite\\nrole-Mail.Send\\nrole-GroupMember.Read.All\\nrole-User.Read.All\\n' ;;
      "ad app credential list"*) echo 'q83vASM=' ;;
      "functionapp function keys list"*) echo the-ingest-key ;;
      "functionapp keys list"*) printf 'the-default-key\\nthe-master-key\\n' ;;
      *) exit 3 ;;
    esac ;;
esac
`;
const binDir = path.join(work, 'bin');
spawnSync('mkdir', ['-p', binDir]);
writeFileSync(path.join(binDir, 'az'), fakeAz);
chmodSync(path.join(binDir, 'az'), 0o755);

const required = ['--resource-group', 'rg-clawback', '--alert-email', 'soc@contoso.com'];

function dryRun(state: 'fresh' | 'existing', extra: string[] = []) {
  const log = path.join(work, `${state}-${extra.length}.log`);
  writeFileSync(log, '');
  const result = spawnSync(
    'bash',
    [
      path.join(repoRoot, 'scripts/deploy.sh'),
      ...required,
      '--location',
      'swedencentral',
      ...extra,
      '--dry-run',
    ],
    {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, FAKE_AZ_LOG: log, FAKE_AZ_STATE: state },
    },
  );
  const printed = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('  $ az '))
    .map((l) => l.slice('  $ az '.length));
  const called = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, printed, called };
}

/** Index of the first printed command starting with `prefix`, and that it has every flag in `flags`. */
function position(printed: string[], prefix: string, flags: string[] = []): number {
  const i = printed.findIndex((l) => l.startsWith(prefix));
  expect(i, `${prefix} is printed`).toBeGreaterThanOrEqual(0);
  for (const flag of flags) expect(printed[i], `${prefix} has ${flag}`).toContain(flag);
  return i;
}

const changingVerbs = /\b(create|set|register|reset|add|admin-consent|config-zip|delete|update)\b/;

describe('scripts/deploy.sh', () => {
  it('passes bash -n and shellcheck', () => {
    expect(spawnSync('bash', ['-n', path.join(repoRoot, 'scripts/deploy.sh')]).status).toBe(0);
    const shellcheck = spawnSync('shellcheck', [path.join(repoRoot, 'scripts/deploy.sh')], {
      encoding: 'utf8',
    });
    if (shellcheck.error) return; // not installed here; CI without it still runs bash -n
    expect(shellcheck.stdout).toBe('');
    expect(shellcheck.status).toBe(0);
  });

  it('refuses to run without a resource group and an alert address', () => {
    const result = spawnSync('bash', [path.join(repoRoot, 'scripts/deploy.sh'), '--dry-run'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
  });

  it('on an empty subscription prints every step in order, with the flags that make a rerun safe', () => {
    const run = dryRun('fresh');
    expect(run.status, run.stderr).toBe(0);
    const p = run.printed;
    const order = [
      position(p, 'provider register --namespace Microsoft.Web', ['--wait']),
      position(p, 'group create --name rg-clawback', ['--location swedencentral']),
      position(p, 'deployment group create', [
        '--name clawback',
        '--mode Incremental',
        '--template-file infra/main.bicep',
        '--parameters infra/main.bicepparam',
        'alertEmailAddress=soc@contoso.com',
      ]),
      position(p, 'role assignment create', [
        '--assignee-object-id me-object-id',
        '--assignee-principal-type User',
        "--role 'Key Vault Certificates Officer'",
      ]),
      position(p, 'keyvault certificate create', [
        '--name clawback-graph',
        'exportable',
        'application/x-pem-file',
      ]),
      position(p, 'ad app create', ["--display-name 'Clawback Graph'", '--sign-in-audience AzureADMyOrg']),
      position(p, 'ad sp create'),
      position(p, 'ad app permission add', ['--api 00000003-0000-0000-c000-000000000000']),
      position(p, 'ad app permission admin-consent'),
      position(p, 'ad app credential reset', ['--keyvault', '--cert clawback-graph', '--append']),
      position(p, 'functionapp deployment source config-zip', ['--src dist/clawback.zip']),
      position(p, 'functionapp function keys set', [
        '--function-name ingestVerdict',
        '--key-name security-platform',
      ]),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const permissions = p.find((l) => l.startsWith('ad app permission add'))!;
    for (const name of ['Mail.ReadWrite', 'Mail.Send', 'GroupMember.Read.All', 'User.Read.All'])
      expect(permissions).toContain(`role-${name}=Role`);
    expect(permissions).not.toContain('SecurityAlert.Read.All');
    expect(p.filter((l) => l.startsWith('provider register'))).toHaveLength(7);
  });

  it('changes nothing in a dry run: the fake az only ever saw lookups', () => {
    const run = dryRun('fresh', ['--defender']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.called.length).toBeGreaterThan(10);
    expect(run.called.filter((c) => changingVerbs.test(c.split(' --')[0]!))).toEqual([]);
    expect(run.printed.find((l) => l.startsWith('ad app permission add'))).toContain(
      'role-SecurityAlert.Read.All=Role',
    );
  });

  it('where everything exists already, prints only the steps that converge (template, consent, code)', () => {
    const run = dryRun('existing');
    expect(run.status, run.stderr).toBe(0);
    expect(run.printed.map((l) => l.split(' --')[0])).toEqual([
      'deployment group create',
      'ad app permission admin-consent',
      'functionapp deployment source config-zip',
    ]);
    expect(run.stdout).toContain('https://func-clawback-abc.azurewebsites.net/api/verdicts');
    expect(run.stdout).toContain('the-ingest-key');
    expect(run.called.filter((c) => changingVerbs.test(c.split(' --')[0]!))).toEqual([]);
  });

  it('applies a configuration for --domain without ever printing the admin key', () => {
    const run = dryRun('existing', ['--domain', 'contoso.com']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\$ npx clawback config apply clawback\.config\.json --url \S+ --key \*\*\*/);
    expect(run.stdout).toContain('client app-id-1');
    expect(run.stdout).not.toContain('the-master-key');
  });
});
