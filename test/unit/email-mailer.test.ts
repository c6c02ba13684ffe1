import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createMailer, headerText } from '../../integrations/email/mailer';

describe('headerText', () => {
  test('turns line breaks into spaces, so a name cannot start a header of its own', () => {
    expect(headerText('Bob\r\nBcc: evil@example.test')).toBe('Bob Bcc: evil@example.test');
    expect(headerText('Bob\nBcc: evil@example.test')).toBe('Bob Bcc: evil@example.test');
    expect(headerText('Bob\rBcc: evil@example.test')).toBe('Bob Bcc: evil@example.test');
  });

  test('removes control characters, unicode line separators and NEL', () => {
    expect(headerText('a\u0000b\u0007c\u001bd\u007fe')).toBe('a b c d e');
    expect(headerText('a\u2028b\u2029c')).toBe('a b c');
    expect(headerText('a\u0085b\u009bc')).toBe('a b c');
  });

  test('collapses runs of whitespace and trims the ends', () => {
    expect(headerText('  Approval \t needed:\r\n\r\n  Zoë  ')).toBe('Approval needed: Zoë');
  });

  test('leaves unicode and quotes as they are', () => {
    const name = 'Zoë "Zed" Ångström-O\'Brien 東京 🚀';
    expect(headerText(name)).toBe(name);
  });

  test('shortens long text to the limit, ending with an ellipsis', () => {
    const shortened = headerText('x'.repeat(500));
    expect(shortened).toHaveLength(200);
    expect(shortened.endsWith('x…')).toBe(true);
    expect(headerText('abcdef', 4)).toBe('abc…');
    expect(headerText('abcd', 4)).toBe('abcd');
  });

  test('never cuts a character in half when it shortens', () => {
    const shortened = headerText('🚀'.repeat(300));
    expect(shortened).toBe(`${'🚀'.repeat(199)}…`);
    expect(shortened).not.toMatch(
      /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/,
    );
  });
});

describe('createMailer without SMTP', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-outbox-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes each message as an .eml file only its owner can read', async () => {
    const mailer = createMailer({
      from: 'keyward <keyward@example.test>',
      outboxDir: join(dir, 'outbox'),
    });
    expect(mailer.kind).toBe('files');
    await mailer.send({
      to: { name: 'Bob Example', address: 'bob@example.test' },
      subject: 'Hello',
      text: 'text part',
      html: '<p>html part</p>',
    });
    mailer.close();

    const files = readdirSync(join(dir, 'outbox'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.eml$/);
    expect(statSync(join(dir, 'outbox', files[0])).mode & 0o777).toBe(0o600);
    const parsed = await simpleParser(readFileSync(join(dir, 'outbox', files[0])));
    expect(parsed.subject).toBe('Hello');
    expect(parsed.text?.trim()).toBe('text part');
    expect(parsed.html).toContain('<p>html part</p>');
  });

  test('keeps a name and a subject with line breaks to one header each, unicode intact', async () => {
    const mailer = createMailer({ from: 'keyward <keyward@example.test>', outboxDir: dir });
    await mailer.send({
      to: { name: 'Bob\r\nBcc: evil@example.test', address: 'bob@example.test' },
      subject: 'Approval needed: Zoë "Zed"\r\nBcc: evil@example.test',
      text: 'body',
      html: '<p>body</p>',
    });
    mailer.close();

    const raw = readFileSync(join(dir, readdirSync(dir)[0]), 'utf8');
    const headers = raw.slice(0, raw.indexOf('\n\n'));
    expect(headers).not.toMatch(/^bcc:/im);
    const parsed = await simpleParser(raw);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.to).toMatchObject({
      value: [{ name: 'Bob Bcc: evil@example.test', address: 'bob@example.test' }],
    });
    expect(parsed.subject).toBe('Approval needed: Zoë "Zed" Bcc: evil@example.test');
  });

  test('refuses to start with neither SMTP nor a folder', () => {
    expect(() => createMailer({ from: 'keyward <keyward@example.test>' })).toThrow(
      /needs a folder/,
    );
  });
});
