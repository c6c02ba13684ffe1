import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface RequestsTable {
  id: string;
  requester: string;
  entitlement_id: string;
  system_id: string;
  role: string;
  login: string;
  duration_ms: number;
  reason: string;
  status: string;
  workflow_id: string;
  approvals: JSONColumnType<{ approver: string; decision: string; at: string; reason?: string }[]>;
  /** Who may approve, fixed when the request was made. */
  approvers: JSONColumnType<string[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GrantsTable {
  request_id: string;
  identity: string;
  entitlement_id: string;
  system_id: string;
  role: string;
  login: string;
  approvals: JSONColumnType<{ approver: string; at: string }[]>;
  granted_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
  revoke_cause: string | null;
  revoke_lateness_ms: number | null;
}

export interface AuditEventsTable {
  seq: ColumnType<number, number, never>;
  event_key: string;
  at: Timestamp;
  actor: string;
  action: string;
  subject: string;
  approval_path: JSONColumnType<{ approver: string; at: string }[]>;
  workflow_id: string | null;
  details: JSONColumnType<Record<string, unknown>>;
  prev_hash: string;
  hash: string;
}

export interface ApiTokensTable {
  id: Generated<number>;
  identity: string;
  token_hash: string;
  label: string;
  created_at: Generated<Timestamp>;
  revoked_at: Timestamp | null;
}

export interface SlackMessagesTable {
  request_id: string;
  channel: string;
  ts: string;
  recipient: string;
}

export interface NoticesSentTable {
  key: string;
  sent_at: Generated<Timestamp>;
}

export interface EmailLinkUsesTable {
  nonce: string;
  request_id: string;
  approver: string;
  used_at: Generated<Timestamp>;
}

export interface CredentialsTable {
  id: string;
  identity: string;
  system_id: string;
  strategy: string;
  /** Set when the credential left the policy; its versions are kept for the record. */
  removed_at: Timestamp | null;
  last_rotated_at: Timestamp | null;
  /** The outcome of the last run that got past planning: rotated, failed. */
  last_status: string | null;
  last_error: string | null;
  last_workflow_id: string | null;
  updated_at: Timestamp;
}

export type VersionLabel = 'pending' | 'current' | 'previous' | 'retired' | 'failed';

export interface CredentialVersionsTable {
  id: string;
  credential_id: string;
  login: string;
  label: VersionLabel;
  /** AES-256-GCM; emptied once the version is retired or failed. */
  sealed: Buffer | null;
  workflow_id: string;
  created_at: Timestamp;
  set_at: Timestamp | null;
  promoted_at: Timestamp | null;
  retired_at: Timestamp | null;
}

export interface IncidentsTable {
  id: string;
  identity: string;
  severity: string;
  reason: string;
  reported_by: string;
  reported_at: Timestamp;
  status: string;
  /** True from containment until a restore: the identity may not make requests meanwhile. */
  quarantined: boolean;
  /** Set once the workflow has restored or closed the incident. */
  closed_at: Timestamp | null;
  /**
   * Set once, when a close was asked for or a restore approved. Until then a report about the
   * identity joins this incident (one such incident per identity); from then on it opens a new one.
   */
  ending_at: Timestamp | null;
  workflow_id: string;
  /** The workflow's last state, for the report once the workflow is gone. */
  state: JSONColumnType<Record<string, unknown>>;
  updated_at: Timestamp;
}

export interface IncidentRemovalsTable {
  incident_id: string;
  system_id: string;
  login: string;
  role: string;
  source: 'standing' | 'jit';
  request_id: string | null;
  removed_at: Timestamp;
  restored_at: Timestamp | null;
}

export interface IncidentDisabledLoginsTable {
  incident_id: string;
  system_id: string;
  login: string;
  disabled_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  /** The signature of a delivery that was accepted; the same one again is a replay. */
  signature: string;
  received_at: Generated<Timestamp>;
}

export interface CampaignsTable {
  id: string;
  name: string;
  spec: JSONColumnType<Record<string, unknown>>;
  /** The campaign phase as last recorded: LAUNCHING, REVIEWING, ..., COMPLETED, CANCELLED, FAILED. */
  status: string;
  created_by: string;
  definition_id: string | null;
  created_at: Timestamp;
  launched_at: Timestamp | null;
  deadline_at: Timestamp | null;
  finished_at: Timestamp | null;
  confirmed_by: string | null;
  /** The admin who refused a mass revocation by default. */
  declined_by: string | null;
  /** Why a FAILED campaign stopped. */
  failure: string | null;
}

export interface ReviewItemsTable {
  campaign_id: string;
  seq: number;
  reviewer: string;
  identity: string;
  identity_kind: string;
  entitlement_id: string;
  system_id: string;
  role: string;
  login: string;
  risk_tier: string;
  /** How the access was obtained: a keyward grant, or a standing membership found on the target. */
  source: 'grant' | 'standing';
  last_granted_at: Timestamp | null;
  delegate: string | null;
  escalated_to: string | null;
  decision: 'certify' | 'revoke' | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: Timestamp | null;
  /** kept, revoked, failed, superseded, or null while nothing was done yet. */
  remediation: string | null;
  remediation_error: string | null;
  /** The JIT request whose later grant kept this access although the review revoked it. */
  superseded_by: string | null;
  remediation_attempts: Generated<number>;
  remediated_at: Timestamp | null;
}

export interface Database {
  requests: RequestsTable;
  grants: GrantsTable;
  audit_events: AuditEventsTable;
  api_tokens: ApiTokensTable;
  slack_messages: SlackMessagesTable;
  notices_sent: NoticesSentTable;
  email_link_uses: EmailLinkUsesTable;
  credentials: CredentialsTable;
  credential_versions: CredentialVersionsTable;
  incidents: IncidentsTable;
  incident_removals: IncidentRemovalsTable;
  incident_disabled_logins: IncidentDisabledLoginsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  campaigns: CampaignsTable;
  review_items: ReviewItemsTable;
}
