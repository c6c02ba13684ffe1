import { continueAsNew, sleep, workflowInfo } from '@temporalio/workflow';
import type { RemediationCounts } from '../../domain/campaign';
import type { RemediationWorkflowInput } from './definitions';
import { notifier, records, remediation } from './proxies';

const BATCH = 200;
const FIRST_RETRY_MS = 10_000;
const LONGEST_RETRY_MS = 3_600_000;
/** Passes that fail before the admins hear of it; keyward goes on retrying after that. */
const ALERT_AFTER_PASSES = 2;
const HISTORY_BUDGET = 4_000;

/**
 * Revokes on the targets what a campaign's reviewers (or its default) rejected. Each pass tries
 * every revocation not yet done; failures are retried with growing pauses, up to an hour, for the
 * policy's retry window. The admins are told when failures persist and again if any are left at
 * the end; nothing is dropped silently, and an admin can run this again once the target is fixed.
 */
export async function campaignRemediationWorkflow(
  input: RemediationWorkflowInput,
): Promise<RemediationCounts> {
  const { campaignId } = input;
  const startedAt = input.startedAt ?? new Date(Date.now()).toISOString();
  const { retryMs, adminGroup } = await records.remediationSettings();
  const retryUntil = Date.parse(startedAt) + retryMs;
  let passes = input.passes ?? 0;
  let alerted = input.alerted ?? false;
  const tellAdmins = (key: string, subject: string, text: string) =>
    notifier.tellPeople({
      to: [adminGroup],
      subject,
      text,
      facts: [['Campaign', campaignId]],
      key: `campaign/${campaignId}/${key}/${startedAt}`,
      alert: true,
    });

  for (;;) {
    passes++;
    const failed = await remediationPass(campaignId);
    if (failed === 0) break;
    const pause = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 3 ** (passes - 1));
    if (Date.now() + pause > retryUntil) break;
    if (passes >= ALERT_AFTER_PASSES && !alerted) {
      alerted = true;
      await tellAdmins(
        'remediation-failing',
        'Campaign revocations are failing',
        `${failed} revocations of campaign ${campaignId} failed ${passes} times; keyward keeps retrying until ` +
          `${new Date(retryUntil).toISOString()}.`,
      );
    }
    await sleep(pause);
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_BUDGET) {
      await continueAsNew<typeof campaignRemediationWorkflow>({
        ...input,
        startedAt,
        passes,
        alerted,
      });
    }
  }

  const counts = await records.finishRemediation({
    campaignId,
    requestedBy: input.requestedBy,
    startedAt,
    passes,
  });
  if (counts.failed > 0) {
    await tellAdmins(
      'remediation-failed',
      'Campaign revocations failed',
      `${counts.failed} revocations of campaign ${campaignId} still failed after retrying; the access is still ` +
        `there. Fix the target, then run: keyward campaign remediate ${campaignId}`,
    );
  }
  return counts;
}

/** One pass over the revocations not yet done; returns how many failed. */
async function remediationPass(campaignId: string): Promise<number> {
  let failed = 0;
  for (let afterSeq = 0; ;) {
    const batch = await remediation.remediateBatch({ campaignId, afterSeq, limit: BATCH });
    failed += batch.failed;
    if (batch.lastSeq === undefined) return failed;
    afterSeq = batch.lastSeq;
  }
}
