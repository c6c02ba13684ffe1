import { condition, patched, setHandler } from '@temporalio/workflow';
import { IncidentStatus } from '../../domain/incident';
import type { IncidentPlan, RestoreInput } from '../../domain/incident';
import {
  checkClose,
  checkRestoreApproval,
  checkRetry,
  restoreApproved,
} from '../../domain/incident-rules';
import { FailureType } from '../../domain/failures';
import { rejectIf } from '../shared';
import { approveRestoreUpdate, closeIncidentUpdate, retryIncidentUpdate } from './definitions';
import type { IncidentContext } from './steps';

// The decisions people send an incident as updates: restore approvals, a close and retries.

const iso = (ms: number) => new Date(ms).toISOString();
/** Runs recorded before this marker closed and restored without waiting for the ending's record. */
const ENDING_RECORDED_FIRST = 'incident-ending-recorded-first';

/** What the workflow reads of the decisions, and what it tells them of its own progress. */
export interface Decisions {
  /** The close asked for, once one came. */
  readonly closing: RestoreInput | undefined;
  /** The opening is on record: a close that came with the report may be recorded after it. */
  opened(): void;
  /** Waits until the approval or the close that ends the incident is on record. */
  endingOnRecord(): Promise<void>;
  /** Waits for a retry or a close; true when a retry came, to run on the systems that failed. */
  retryOrClose(): Promise<boolean>;
}

/** Answers the incident's updates; set up before the first await, so none arrives unheard. */
export function acceptDecisions(ctx: IncidentContext, plan: IncidentPlan): Decisions {
  const { state, record } = ctx;
  let closing: RestoreInput | undefined;
  let retryAsked = false;
  // Until the database reads the incident as ending, a report about the identity joins it; so
  // nothing is given back or closed before the approval or the close that ends it is on record.
  let restoreRecorded = false;
  let closeRecorded = false;
  let openedRecorded = false;
  const failed = () => state.systems.filter((s) => s.status === 'FAILED');

  // Every update answers once its decision is recorded: what follows (containment, restore) may
  // wait for a system that is down, and callers read the status or the report for it. Validators
  // refuse at the door; each handler checks again, since two updates that arrive together both
  // pass their validators before either handler runs.
  setHandler(
    approveRestoreUpdate,
    async (approval) => {
      rejectIf(checkRestoreApproval(state, plan.rules, approval));
      state.approvals.push({
        approver: approval.actor,
        at: iso(Date.now()),
        reason: approval.reason,
      });
      const completes = restoreApproved(state, plan.rules);
      if (completes) state.status = IncidentStatus.RESTORING;
      await record({
        step: `restore-approved/${approval.actor}`,
        actor: approval.actor,
        action: 'incident.restore_approved',
        details: {
          incidentId: state.incidentId,
          ...(approval.reason && { reason: approval.reason }),
        },
      });
      restoreRecorded ||= completes;
      return state;
    },
    { validator: (approval) => rejectIf(checkRestoreApproval(state, plan.rules, approval)) },
  );
  setHandler(
    closeIncidentUpdate,
    async (request) => {
      rejectIf(checkClose(state, plan.rules, request, closing?.actor));
      closing = request;
      state.status = IncidentStatus.CLOSING;
      // Answered once on record: from then on a report about the identity opens a new incident.
      if (patched(ENDING_RECORDED_FIRST)) {
        // A close that arrives with the report is told after the opening, in the audit log too.
        await condition(() => openedRecorded);
        await record({
          step: 'close-requested',
          actor: request.actor,
          action: 'incident.close_requested',
          details: { reason: request.reason },
        });
      }
      closeRecorded = true;
      return state;
    },
    { validator: (request) => rejectIf(checkClose(state, plan.rules, request, closing?.actor)) },
  );
  const checkRetryNow = (request: RestoreInput) =>
    checkRetry(state, plan.rules, request, closing?.actor) ??
    (retryAsked
      ? { type: FailureType.AlreadyDecided, message: 'a retry is already under way' }
      : undefined);
  setHandler(
    retryIncidentUpdate,
    async (request) => {
      rejectIf(checkRetryNow(request));
      retryAsked = true;
      state.retries.push({ actor: request.actor, at: iso(Date.now()) });
      await record({
        step: `retry/${state.retries.length}`,
        actor: request.actor,
        action: 'incident.retry_requested',
        details: {
          systems: failed().map((s) => s.systemId),
          ...(request.reason && { reason: request.reason }),
        },
      });
      return state;
    },
    { validator: (request) => rejectIf(checkRetryNow(request)) },
  );
  const endingOnRecord = async () => {
    if (patched(ENDING_RECORDED_FIRST))
      await condition(() => (closing ? closeRecorded : restoreRecorded));
  };
  const retryOrClose = async (): Promise<boolean> => {
    await condition(() => retryAsked || closing !== undefined);
    if (closing) return false;
    retryAsked = false;
    return true;
  };

  return {
    get closing() {
      return closing;
    },
    opened() {
      openedRecorded = true;
    },
    endingOnRecord,
    retryOrClose,
  };
}
