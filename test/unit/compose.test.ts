import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * Checks the wiring of the production-shaped stack (docker-compose.yml, Dockerfile and what they
 * read under deploy/) by parsing the files; no Docker engine is needed.
 */

const root = resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface HealthCheck {
  test: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number | { target: number; published?: string | number; host_ip?: string })[];
  volumes?: (string | { type: string; source?: string; target: string; read_only?: boolean })[];
  healthcheck?: HealthCheck;
  env_file?: string | (string | { path: string; required?: boolean })[];
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// Compose honours YAML merge keys (`<<: *anchor`), which docker-compose.yml uses to share settings.
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};

function environmentOf(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line) => {
        const at = line.indexOf('=');
        return at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)];
      })
    : Object.entries(env).map(([key, value]) => [key, value == null ? '' : String(value)]);
  return Object.fromEntries(entries);
}

function dependenciesOf(name: string): Record<string, string> {
  const deps = service(name).depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((dep) => [dep, 'service_started']));
  return Object.fromEntries(
    Object.entries(deps).map(([dep, spec]) => [dep, spec.condition ?? 'service_started']),
  );
}

function commandOf(name: string): string[] {
  const command = service(name).command ?? [];
  return Array.isArray(command) ? command : command.trim().split(/\s+/);
}

interface PublishedPort {
  hostIp?: string;
  published: number;
  target: number;
}

/** Reads both the short ("[ip:]published:target[/proto]") and the long syntax of `ports`. */
function portsOf(name: string): PublishedPort[] {
  return (service(name).ports ?? []).map((port) => {
    if (typeof port === 'object') {
      return {
        hostIp: port.host_ip,
        published: Number(port.published),
        target: Number(port.target),
      };
    }
    const parts = String(port)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.pop());
    const published = parts.length ? Number(parts.pop()) : NaN;
    return { hostIp: parts.length ? parts.join(':') : undefined, published, target };
  });
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

function mountsOf(name: string): Mount[] {
  return (service(name).volumes ?? []).map((volume) => {
    if (typeof volume === 'object') {
      return {
        source: volume.source ?? '',
        target: volume.target,
        readOnly: volume.read_only === true,
      };
    }
    const [source, target, mode] = volume.split(':');
    return { source, target, readOnly: (mode ?? '').split(',').includes('ro') };
  });
}

/** Replaces `${NAME:-default}` and `${NAME-default}` with their defaults, as compose does when NAME is unset. */
const withDefaults = (value: string) => value.replace(/\$\{[A-Z][A-Z0-9_]*:?-([^}]*)\}/g, '$1');

/** A value compose takes from a required variable: `${KEYWARD_ENCRYPTION_KEY:?set KEYWARD_ENCRYPTION_KEY}`. */
const REQUIRED_VARIABLE = /^\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}$/;

/** postgres://user:password@host:port/database, with the password split at the last "@". */
function parseDatabaseUrl(url: string) {
  const match = /^postgres(?:ql)?:\/\/([^:@/]+):(.+)@([^:@/]+):(\d+)\/([^/?#]+)$/.exec(url);
  if (!match)
    throw new Error(`not a postgres:// URL with user, password, host, port and database: ${url}`);
  const [, user, password, host, port, database] = match;
  return { user, password, host, port: Number(port), database };
}

const healthcheckCommand = (name: string) => {
  const test = service(name).healthcheck?.test ?? [];
  return Array.isArray(test) ? test : ['CMD-SHELL', test];
};

const KEYWARD_SERVICES = ['keyward-worker', 'keyward-server'] as const;
const KEYWARD_SETTINGS = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'KEYWARD_ENCRYPTION_KEY',
  'KEYWARD_POLICY',
];

describe('docker-compose.yml', () => {
  it('defines the postgres, temporal, temporal-ui, keyward-worker and keyward-server services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['keyward-server', 'keyward-worker', 'postgres', 'temporal', 'temporal-ui'].sort(),
    );
  });

  describe('postgres', () => {
    it('runs the official PostgreSQL image at a pinned major version with its data on a named volume', () => {
      expect(service('postgres').image).toMatch(/^postgres:\d+(\.\d+)?(-[a-z0-9]+)?$/);
      const data = mountsOf('postgres').find(
        (mount) => mount.target === '/var/lib/postgresql/data',
      );
      expect(data).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(data!.source);
    });

    it('reports healthy through pg_isready', () => {
      const test = healthcheckCommand('postgres');
      expect(test.join(' ')).toMatch(/pg_isready/);
      expect(service('postgres').healthcheck?.retries).toBeGreaterThan(0);
    });

    it('mounts the init scripts under deploy/ read-only', () => {
      const init = mountsOf('postgres').find(
        (mount) => mount.target === '/docker-entrypoint-initdb.d',
      );
      expect(init).toMatchObject({ readOnly: true });
      expect(existsSync(join(root, init!.source))).toBe(true);
      expect(posix.normalize(init!.source)).toMatch(/^deploy\//);
    });

    it("creates keyward's role and database in the init script and leaves Temporal's databases to auto-setup", () => {
      const sql = read('deploy/postgres/initdb/10-roles-and-keyward-database.sql');
      expect(sql).toMatch(/CREATE ROLE keyward WITH LOGIN PASSWORD :'keyward_password'/);
      expect(sql).toMatch(/CREATE DATABASE keyward OWNER keyward/);
      expect(sql).toMatch(/CREATE ROLE temporal WITH LOGIN CREATEDB/);
      expect(sql).not.toMatch(/CREATE DATABASE temporal/);
      // The passwords come from the container's environment, which compose fills from required variables.
      expect(sql).toMatch(/\\getenv keyward_password KEYWARD_DB_PASSWORD/);
      expect(sql).toMatch(/\\getenv temporal_password TEMPORAL_DB_PASSWORD/);
      const env = environmentOf('postgres');
      expect(env.KEYWARD_DB_PASSWORD).toMatch(REQUIRED_VARIABLE);
      expect(env.TEMPORAL_DB_PASSWORD).toMatch(REQUIRED_VARIABLE);
    });

    it('is not published on the host', () => {
      expect(portsOf('postgres')).toEqual([]);
    });
  });

  describe('temporal', () => {
    it('runs a pinned temporalio/auto-setup image', () => {
      expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    });

    it('starts once PostgreSQL is healthy', () => {
      expect(dependenciesOf('temporal')).toEqual({ postgres: 'service_healthy' });
    });

    it('keeps its persistence in the postgres service through the postgres12 plugin', () => {
      const env = environmentOf('temporal');
      expect(env).toMatchObject({
        DB: 'postgres12',
        DB_PORT: '5432',
        POSTGRES_SEEDS: 'postgres',
        POSTGRES_USER: 'temporal',
        DBNAME: 'temporal',
        VISIBILITY_DBNAME: 'temporal_visibility',
      });
      expect(env.POSTGRES_PWD).toMatch(REQUIRED_VARIABLE);
      // The same variable sets the temporal role's password in PostgreSQL's init script.
      expect(env.POSTGRES_PWD).toBe(environmentOf('postgres').TEMPORAL_DB_PASSWORD);
    });

    it('registers the namespace keyward uses', () => {
      expect(withDefaults(environmentOf('temporal').DEFAULT_NAMESPACE)).toBe('default');
      expect(environmentOf('temporal').DEFAULT_NAMESPACE).toBe(
        environmentOf('keyward-worker').TEMPORAL_NAMESPACE,
      );
    });

    it('reads its dynamic config from a file under deploy/', () => {
      const configPath = environmentOf('temporal').DYNAMIC_CONFIG_FILE_PATH;
      // Relative paths are resolved from the image's working directory, /etc/temporal.
      const inContainer = posix.resolve('/etc/temporal', configPath);
      const mount = mountsOf('temporal').find((m) => inContainer.startsWith(`${m.target}/`));
      expect(mount).toMatchObject({ readOnly: true });
      const onHost = join(root, mount!.source, posix.relative(mount!.target, inContainer));
      expect(existsSync(onHost)).toBe(true);
      // Dynamic config maps each key to a list of { value, constraints? }.
      const config = parse(readFileSync(onHost, 'utf8')) as Record<string, { value: unknown }[]>;
      expect(Object.keys(config).length).toBeGreaterThan(0);
      for (const values of Object.values(config)) {
        expect(Array.isArray(values)).toBe(true);
        for (const entry of values) expect(entry).toHaveProperty('value');
      }
    });

    it('reports healthy only when the namespace can be described', () => {
      const test = healthcheckCommand('temporal').join(' ');
      expect(test).toMatch(/temporal operator namespace describe/);
      expect(test).toContain('--address temporal:7233');
    });

    it('publishes its gRPC frontend on port 7233', () => {
      expect(portsOf('temporal')).toEqual([
        expect.objectContaining({ published: 7233, target: 7233 }),
      ]);
    });
  });

  describe('temporal-ui', () => {
    it('runs a pinned temporalio/ui image pointed at temporal:7233', () => {
      expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
      expect(environmentOf('temporal-ui').TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(Object.keys(dependenciesOf('temporal-ui'))).toEqual(['temporal']);
    });

    it('publishes the UI on port 8080', () => {
      expect(portsOf('temporal-ui')).toEqual([
        expect.objectContaining({ published: 8080, target: 8080 }),
      ]);
    });
  });

  describe.each(KEYWARD_SERVICES)('%s', (name) => {
    it('builds from the Dockerfile at the root of the repository', () => {
      const build = service(name).build;
      const context = typeof build === 'string' ? build : build?.context;
      const dockerfile = (typeof build === 'object' && build.dockerfile) || 'Dockerfile';
      expect(context).toBeDefined();
      expect(resolve(root, context!, dockerfile)).toBe(join(root, 'Dockerfile'));
    });

    it(`runs the ${name.replace('keyward-', '')} subcommand of bin/keyward.js`, () => {
      expect(commandOf(name)).toEqual(['node', 'bin/keyward.js', name.replace('keyward-', '')]);
    });

    it('has every setting keyward reads in its environment', () => {
      expect(Object.keys(environmentOf(name))).toEqual(expect.arrayContaining(KEYWARD_SETTINGS));
    });

    it("connects to keyward's database in the postgres service as the keyward role", () => {
      const url = parseDatabaseUrl(environmentOf(name).DATABASE_URL);
      expect(url).toMatchObject({
        user: 'keyward',
        host: 'postgres',
        port: 5432,
        database: 'keyward',
      });
      expect(url.password).toMatch(REQUIRED_VARIABLE);
      // The same variable sets the keyward role's password in PostgreSQL's init script.
      expect(url.password).toBe(environmentOf('postgres').KEYWARD_DB_PASSWORD);
    });

    it('connects to Temporal at temporal:7233 in the default namespace', () => {
      const env = environmentOf(name);
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(withDefaults(env.TEMPORAL_NAMESPACE)).toBe('default');
    });

    it('takes the encryption key from a required variable', () => {
      expect(environmentOf(name).KEYWARD_ENCRYPTION_KEY).toBe(
        '${KEYWARD_ENCRYPTION_KEY:?set KEYWARD_ENCRYPTION_KEY}',
      );
    });

    it('reads the policy from a file mounted read-only at KEYWARD_POLICY', () => {
      const policy = environmentOf(name).KEYWARD_POLICY;
      expect(policy).toMatch(/^\//);
      const mount = mountsOf(name).find((m) => m.target === policy);
      expect(mount).toMatchObject({ readOnly: true });
      expect(withDefaults(mount!.source)).toBe('./keyward.yaml');
    });

    it('starts once PostgreSQL and Temporal are healthy', () => {
      expect(dependenciesOf(name)).toEqual({
        postgres: 'service_healthy',
        temporal: 'service_healthy',
      });
    });
  });

  it('builds one image for the worker and the server', () => {
    expect(service('keyward-worker').image).toBeDefined();
    expect(service('keyward-server').image).toBe(service('keyward-worker').image);
    expect(service('keyward-server').build).toEqual(service('keyward-worker').build);
  });

  it('serves the keyward API on 0.0.0.0:8080 in the container, published as 8088', () => {
    const env = environmentOf('keyward-server');
    expect(env.KEYWARD_API_HOST).toBe('0.0.0.0');
    expect(env.KEYWARD_API_PORT).toBe('8080');
    expect(portsOf('keyward-server')).toEqual([
      expect.objectContaining({ published: 8088, target: 8080 }),
    ]);
    expect(portsOf('keyward-worker')).toEqual([]);
    expect(environmentOf('keyward-worker')).not.toHaveProperty('KEYWARD_API_PORT');
  });

  it('gives only the worker the credentials of target systems, from an optional env file kept out of the image', () => {
    expect(service('keyward-worker').env_file).toEqual([{ path: '.env.targets', required: false }]);
    expect(service('keyward-server').env_file).toBeUndefined();
    expect(read('.dockerignore').split(/\r?\n/)).toContain('.env.*');
  });

  it('checks the server with GET /healthz on its API port', () => {
    const test = healthcheckCommand('keyward-server').join(' ');
    expect(test).toContain('http://127.0.0.1:8080/healthz');
    expect(service('keyward-server').healthcheck?.retries).toBeGreaterThan(0);
  });

  it('keeps Temporal and its UI, which have no authentication of their own, on the loopback interface', () => {
    for (const name of ['temporal', 'temporal-ui']) {
      for (const port of portsOf(name)) expect(port.hostIp).toBe('127.0.0.1');
    }
  });

  it('takes every password and key from a required variable, so no secret is written in the file', () => {
    const secretName = /PASSWORD|PWD|SECRET|TOKEN|_KEY$/;
    const checked: string[] = [];
    for (const name of Object.keys(compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(name))) {
        if (secretName.test(key)) {
          expect({ service: name, key, value }).toEqual({
            service: name,
            key,
            value: expect.stringMatching(REQUIRED_VARIABLE),
          });
          checked.push(`${name}.${key}`);
        }
        if (/^postgres(ql)?:\/\//.test(value)) {
          expect(parseDatabaseUrl(value).password).toMatch(REQUIRED_VARIABLE);
          checked.push(`${name}.${key}`);
        }
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'postgres.POSTGRES_PASSWORD',
        'temporal.POSTGRES_PWD',
        'keyward-worker.DATABASE_URL',
        'keyward-server.KEYWARD_ENCRYPTION_KEY',
      ]),
    );
  });

  it('documents every required variable in deploy/env.example, with no value filled in', () => {
    const strings = (node: unknown): string[] =>
      typeof node === 'string'
        ? [node]
        : node && typeof node === 'object'
          ? Object.values(node).flatMap(strings)
          : [];
    const required = new Set(
      strings(compose).flatMap((value) =>
        [...value.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((match) => match[1]),
      ),
    );
    const example = read('deploy/env.example');
    expect([...required].sort()).toEqual([
      'KEYWARD_DB_PASSWORD',
      'KEYWARD_ENCRYPTION_KEY',
      'POSTGRES_PASSWORD',
      'TEMPORAL_DB_PASSWORD',
    ]);
    for (const name of required) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
  });
});

describe('Dockerfile', () => {
  // Instructions with line continuations joined and comments dropped.
  const instructions = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });

  it('builds on Node 20', () => {
    const from = instructions.filter((i) => i.keyword === 'FROM');
    expect(from.length).toBeGreaterThan(0);
    expect(from[from.length - 1].args).toMatch(/^node:20([.-]|$)/);
  });

  it('installs the locked dependencies with npm ci before copying the sources', () => {
    const install = instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    const copySources = instructions.findIndex(
      (i) => i.keyword === 'COPY' && /^(--\S+\s+)*\.\s+\.$/.test(i.args),
    );
    expect(install).toBeGreaterThan(-1);
    expect(copySources).toBeGreaterThan(install);
  });

  it('ends by switching to the unprivileged node user', () => {
    expect(instructions[instructions.length - 1]).toEqual({ keyword: 'USER', args: 'node' });
  });

  it('bakes no secret or connection setting into the image', () => {
    for (const { keyword, args } of instructions) {
      if (keyword === 'ENV' || keyword === 'ARG') {
        expect(args).not.toMatch(/PASSWORD|PWD|SECRET|TOKEN|KEY|DATABASE_URL/i);
      }
    }
  });

  it('keeps secrets, installed modules and local state out of the build context', () => {
    const ignored = read('.dockerignore')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining(['.env', 'node_modules', '.keyward', '.tools', '.git']),
    );
  });
});

// `docker compose config` validates the file against the Compose specification without an engine.
// It needs the Compose plugin of the docker client; where that is missing the check is skipped.
const composeCli = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
const composeMissing =
  composeCli.error || composeCli.status !== 0
    ? composeCli.error
      ? 'the docker client is not installed'
      : 'the docker client has no compose plugin'
    : undefined;
const withCompose = composeMissing ? it.skip : it;

describe('docker compose config', () => {
  withCompose(
    `accepts docker-compose.yml${composeMissing ? ` (skipped: ${composeMissing})` : ''}`,
    () => {
      const dummy = {
        POSTGRES_PASSWORD: 'dummy-superuser',
        TEMPORAL_DB_PASSWORD: 'dummy-temporal',
        KEYWARD_DB_PASSWORD: 'dummy-keyward',
        KEYWARD_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
      };
      const result = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '-q'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, ...dummy },
      });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    },
  );

  withCompose(
    `refuses to render without the required secrets${composeMissing ? ` (skipped: ${composeMissing})` : ''}`,
    () => {
      const env = { ...process.env };
      for (const name of [
        'POSTGRES_PASSWORD',
        'TEMPORAL_DB_PASSWORD',
        'KEYWARD_DB_PASSWORD',
        'KEYWARD_ENCRYPTION_KEY',
      ]) {
        delete env[name];
      }
      const result = spawnSync(
        'docker',
        ['compose', '--env-file', '/dev/null', '-f', 'docker-compose.yml', 'config', '-q'],
        { cwd: root, encoding: 'utf8', env },
      );
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(
        /set (POSTGRES_PASSWORD|TEMPORAL_DB_PASSWORD|KEYWARD_DB_PASSWORD|KEYWARD_ENCRYPTION_KEY)/,
      );
    },
  );
});
