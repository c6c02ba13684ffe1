import { WorkflowUpdateFailedError } from '@temporalio/client';
import { decisionProblem, MAX_ITEMS, MAX_SEQ, reasonProblem } from '../domain/campaign';
import type { Decision } from '../domain/campaign';
import { FailureType } from '../domain/failures';
import type { ReviewItemRow } from '../store/campaigns';
import { HttpError } from './errors';

const list = (seqs: number[]) => seqs.join(', ');

/** Refuses a request that names no items, too many, one twice, or something that is no item number. */
export function refuseBadItemList(seqs: number[]): void {
  if (seqs.length === 0) throw new HttpError(400, 'name at least one item');
  if (seqs.length > MAX_ITEMS)
    throw new HttpError(400, `name at most ${MAX_ITEMS} items at a time`);
  const seen = new Set<number>();
  for (const seq of seqs) {
    if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ)
      throw new HttpError(400, `${seq} is not an item number`);
    if (seen.has(seq)) throw new HttpError(400, `item ${seq} is named twice`);
    seen.add(seq);
  }
}

/**
 * Why a decision's reason is refused: the evidence keeps why access was taken away, whichever
 * channel the decision came by, and no reason may carry text that disguises what is shown.
 */
export function reasonRefusal(decision: Decision, reason: string | undefined): string | undefined {
  if (decision === 'revoke' && !reason?.trim()) return 'a revocation needs a reason';
  return reasonProblem(reason);
}

/**
 * Why `actor` may not decide or delegate item `seq`, judged from the record by the rule the reviewer
 * workflow applies: the item is in the campaign, undecided, theirs (as reviewer, delegate or
 * escalation) and not their own access.
 */
export function itemRefusal(
  row: ReviewItemRow | undefined,
  seq: number,
  actor: string,
  campaignId: string,
): HttpError | undefined {
  if (!row) return new HttpError(404, `no item ${seq} in campaign ${campaignId}`);
  const item = {
    seq,
    identity: row.identity,
    decided: row.decision !== null,
    delegate: row.delegate ?? undefined,
  };
  const problem = decisionProblem(item, actor, row.reviewer, row.escalated_to ?? undefined);
  if (!problem) return undefined;
  const status = row.identity !== actor && row.decision !== null ? 409 : 403;
  return new HttpError(
    status,
    problem.includes(`item ${seq}`) ? problem : `${problem} (item ${seq})`,
  );
}

/**
 * The named items grouped by the reviewer workflow that holds them, once every one has passed
 * `check`; the first that does not is thrown, before anything is sent.
 */
export function batchesOf(
  rows: ReviewItemRow[],
  seqs: number[],
  check: (row: ReviewItemRow | undefined, seq: number) => HttpError | undefined,
): Map<string, number[]> {
  const bySeq = new Map(rows.map((row) => [row.seq, row]));
  const batches = new Map<string, number[]>();
  for (const seq of seqs) {
    const row = bySeq.get(seq);
    const refusal = check(row, seq);
    if (refusal) throw refusal;
    batches.set(row!.reviewer, [...(batches.get(row!.reviewer) ?? []), seq]);
  }
  return batches;
}

/**
 * Sends each reviewer's batch in turn, one update each. The items were checked first, so a refusal
 * here lost a race with another decision. If nothing was applied yet it is answered as it is;
 * otherwise the answer says which items were `done` and which were not.
 */
export async function sendInTurn(
  batches: Map<string, number[]>,
  send: (reviewer: string, seqs: number[]) => Promise<unknown>,
  refusal: (err: unknown) => unknown,
  done: string,
): Promise<void> {
  const applied: number[] = [];
  const turns = [...batches];
  for (const [index, [reviewer, seqs]] of turns.entries()) {
    try {
      await send(reviewer, seqs);
      applied.push(...seqs);
    } catch (err) {
      const refused = refusal(err);
      if (applied.length === 0) throw refused;
      const notSent = turns.slice(index + 1).flatMap(([, rest]) => rest);
      throw partly(applied, seqs, notSent, refused, done);
    }
  }
}

function partly(
  applied: number[],
  failed: number[],
  notSent: number[],
  refused: unknown,
  done: string,
): HttpError {
  if (refused instanceof HttpError) {
    const notDone = [...failed, ...notSent];
    const message = `items ${list(applied)} were ${done}; items ${list(notDone)} were not: ${refused.message}`;
    return new HttpError(409, message, { applied, refused: notDone });
  }
  // An error that is no refusal (the connection, say) leaves that batch's fate unknown.
  const rest = notSent.length > 0 ? `; items ${list(notSent)} were not` : '';
  const message = `items ${list(applied)} were ${done}; whether items ${list(failed)} were is not known${rest}`;
  return new HttpError(
    502,
    message,
    { applied, unknown: failed, refused: notSent },
    { cause: refused },
  );
}

/**
 * Sends an update again while the reviewer workflow says it is still loading its items, which lasts
 * a moment after the campaign starts; every other answer is returned as it came.
 */
export async function whenReady<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const type = (err as { cause?: { type?: string } }).cause?.type;
      if (
        !(err instanceof WorkflowUpdateFailedError) ||
        type !== FailureType.NotReady ||
        attempt >= 30
      )
        throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
