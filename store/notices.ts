import type { Db } from './db';

/**
 * Claims a notice key; true the first time only. Claimed before sending, so a crash between
 * the two loses one notice rather than sending it twice to a person.
 */
export async function claimNotice(db: Db, key: string): Promise<boolean> {
  const result = await db
    .insertInto('notices_sent')
    .values({ key })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Gives a claim back after sending failed, so that a retry sends it. */
export async function releaseNotice(db: Db, key: string): Promise<void> {
  await db.deleteFrom('notices_sent').where('key', '=', key).execute();
}

export interface PostedMessage {
  channel: string;
  ts: string;
  recipient: string;
}

export async function savePostedMessage(
  db: Db,
  requestId: string,
  message: PostedMessage,
): Promise<void> {
  await db
    .insertInto('slack_messages')
    .values({ request_id: requestId, ...message })
    .onConflict((oc) => oc.columns(['request_id', 'channel']).doNothing())
    .execute();
}

export async function postedMessages(db: Db, requestId: string): Promise<PostedMessage[]> {
  return db
    .selectFrom('slack_messages')
    .select(['channel', 'ts', 'recipient'])
    .where('request_id', '=', requestId)
    .execute();
}

/** Records that an email link was used; false when it had been used already. */
export async function useEmailLink(
  db: Db,
  use: { nonce: string; requestId: string; approver: string },
): Promise<boolean> {
  const result = await db
    .insertInto('email_link_uses')
    .values({ nonce: use.nonce, request_id: use.requestId, approver: use.approver })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function emailLinkUsed(db: Db, nonce: string): Promise<boolean> {
  const row = await db
    .selectFrom('email_link_uses')
    .select('nonce')
    .where('nonce', '=', nonce)
    .executeTakeFirst();
  return row !== undefined;
}

/** Makes a link usable again, when the decision it carried could not be delivered. */
export async function releaseEmailLink(db: Db, nonce: string): Promise<void> {
  await db.deleteFrom('email_link_uses').where('nonce', '=', nonce).execute();
}
