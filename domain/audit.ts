/** One entry as a workflow or the API asks for it; the store adds time, sequence and hashes. */
export interface AuditEventInput {
  /** Unique per logical event, so a retried activity appends it once. */
  key: string;
  actor: string;
  action: string;
  subject: string;
  /** The approvals that allowed the action, in the order they were given. */
  approvalPath?: { approver: string; at: string }[];
  workflowId?: string;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends Required<Omit<AuditEventInput, 'workflowId'>> {
  seq: number;
  at: string;
  workflowId: string | null;
  prevHash: string;
  hash: string;
}

/** The hash the first event links to. */
export const GENESIS_HASH = '0'.repeat(64);
