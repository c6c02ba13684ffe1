import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface GlobalOptions {
  as?: string;
  apiUrl?: string;
  dataDir?: string;
  json?: boolean;
}

export class CliError extends Error {}

export function dataDirOf(options: GlobalOptions): string {
  return resolve(options.dataDir ?? process.env.KEYWARD_DATA_DIR ?? '.keyward');
}

export const tokenPath = (dataDir: string, identity: string) => join(dataDir, 'tokens', identity);

function readStack(dataDir: string): { apiUrl?: string } {
  const file = join(dataDir, 'stack.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

/** A client of keyward's REST API, authenticated as `--as <identity>` on the dev stack or by KEYWARD_TOKEN. */
export class Api {
  private constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  static from(options: GlobalOptions): Api {
    const dataDir = dataDirOf(options);
    const baseUrl =
      options.apiUrl ??
      process.env.KEYWARD_API_URL ??
      readStack(dataDir).apiUrl ??
      'http://127.0.0.1:8088';
    let token = process.env.KEYWARD_TOKEN;
    if (options.as) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(options.as))
        throw new CliError(`"${options.as}" is not an identity id`);
      const file = tokenPath(dataDir, options.as);
      if (!existsSync(file)) {
        throw new CliError(
          `no dev token for "${options.as}" in ${dataDir}/tokens: is it an identity of the policy, ` +
            'and is the dev stack ' +
            'using this data directory (--data-dir or KEYWARD_DATA_DIR)?',
        );
      }
      token = readFileSync(file, 'utf8').trim();
    }
    if (!token)
      throw new CliError(
        'no credentials: pass --as <identity> on the dev stack, or set KEYWARD_TOKEN',
      );
    return new Api(baseUrl.replace(/\/$/, ''), token);
  }

  async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new CliError(
        `cannot reach keyward at ${this.baseUrl}: is the stack running (npm start)?`,
      );
    }
    const payload = (await response.json().catch(() => ({}))) as { error?: string };
    if (!response.ok)
      throw new CliError(payload.error ?? `${method} ${path} answered ${response.status}`);
    return payload as T;
  }
}
