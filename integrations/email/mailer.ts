import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';

export interface OutgoingMail {
  to: { name?: string; address: string };
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Where mail goes: an SMTP server, or .eml files in a folder (the dev stack). */
  readonly kind: 'smtp' | 'files';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/**
 * Text that goes into a header (a display name, a subject) loses its line breaks and control
 * characters, so it can never start a header of its own; nodemailer then encodes what is left.
 */
export function headerText(text: string, max = 200): string {
  const flat = text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  // Counted in code points, so shortening never leaves half of a surrogate pair behind.
  const chars = Array.from(flat);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}

export interface MailerOptions {
  from: string;
  /** smtp:// or smtps:// URL; without it mail is written to `outboxDir`. */
  smtpUrl?: string;
  outboxDir?: string;
}

export function createMailer(options: MailerOptions): Mailer {
  // Well inside the activity's 30 seconds, so an attempt never outlives the one that replaces it.
  const timeouts = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };
  const transport: Transporter = options.smtpUrl
    ? nodemailer.createTransport({ url: options.smtpUrl, ...timeouts } as Parameters<
        typeof nodemailer.createTransport
      >[0])
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const kind = options.smtpUrl ? 'smtp' : 'files';
  if (kind === 'files' && !options.outboxDir)
    throw new Error('without SMTP_URL, mail needs a folder to be written to');

  return {
    kind,
    async send(mail) {
      const info = await transport.sendMail({
        from: options.from,
        to: { name: headerText(mail.to.name ?? ''), address: mail.to.address },
        subject: headerText(mail.subject),
        text: mail.text,
        html: mail.html,
      });
      if (kind === 'files') {
        mkdirSync(options.outboxDir!, { recursive: true, mode: 0o700 });
        const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.eml`;
        writeFileSync(
          join(options.outboxDir!, file),
          (info as unknown as { message: Buffer }).message,
          {
            mode: 0o600,
          },
        );
      }
    },
    close: () => transport.close(),
  };
}
