import { FailureType } from './failures';
import type { Credential, Entitlement, Identity, Policy, RiskTier } from './policy';
import { formatDuration } from './duration';
import { MAX_TEXT, unsafeTextProblem } from './text';

/** Lookups over a policy; cheap to build, safe to use inside workflows. */
export class PolicyView {
  private readonly identities: Map<string, Identity>;
  private readonly groups: Map<string, string[]>;
  private readonly entitlements: Map<string, Entitlement>;
  private readonly credentials: Map<string, Credential>;

  constructor(readonly policy: Policy) {
    this.identities = new Map(policy.identities.map((i) => [i.id, i]));
    this.groups = new Map(policy.groups.map((g) => [g.id, g.members]));
    this.entitlements = new Map(policy.entitlements.map((e) => [e.id, e]));
    this.credentials = new Map((policy.credentials ?? []).map((c) => [c.id, c]));
  }

  credential(id: string): Credential | undefined {
    return this.credentials.get(id);
  }

  /** Identities named directly or through their groups, each once, in the order given. */
  people(identitiesOrGroups: readonly string[]): string[] {
    const ids = identitiesOrGroups.flatMap((id) => (this.groups.has(id) ? this.members(id) : [id]));
    return [...new Set(ids)].filter((id) => this.identities.has(id));
  }

  identity(id: string): Identity | undefined {
    return this.identities.get(id);
  }

  entitlement(id: string): Entitlement | undefined {
    return this.entitlements.get(id);
  }

  members(groupId: string): string[] {
    return this.groups.get(groupId) ?? [];
  }

  isAdmin(identityId: string): boolean {
    return this.members(this.policy.settings.adminGroup).includes(identityId);
  }

  /** The login an identity uses on a system: its mapping, or its own id. */
  loginOn(identity: Identity, systemId: string): string {
    return Object.hasOwn(identity.logins, systemId) ? identity.logins[systemId] : identity.id;
  }

  /**
   * The part of the policy that one request depends on. Workflows receive this from an
   * activity, so the decision they make is recorded in history and replays identically.
   */
  sliceFor(requesterId: string, entitlementId: string): Policy {
    const entitlement = this.entitlement(entitlementId);
    const groupIds = new Set([
      this.policy.settings.adminGroup,
      ...(entitlement?.approval.from ?? []),
    ]);
    const groups = this.policy.groups.filter((g) => groupIds.has(g.id));
    const people = new Set([requesterId, ...groups.flatMap((g) => g.members)]);
    return {
      version: 1,
      settings: this.policy.settings,
      identities: this.policy.identities.filter((i) => people.has(i.id)),
      groups,
      systems: this.policy.systems.filter((s) => s.id === entitlement?.system),
      entitlements: entitlement ? [entitlement] : [],
      credentials: [],
      campaigns: [],
    };
  }
}

export interface AccessRequestInput {
  requester: string;
  entitlementId: string;
  durationMs: number;
  reason: string;
}

/** Everything the JIT workflow needs to run one request, fixed when the request is made. */
export interface RequestPlan {
  entitlementId: string;
  systemId: string;
  role: string;
  login: string;
  riskTier: RiskTier;
  durationMs: number;
  required: number;
  approverGroups: string[];
  eligibleApprovers: string[];
  admins: string[];
  approvalWindowMs: number;
  /** How long before expiry the requester is warned. */
  expiryWarningMs: number;
}

export type Refusal = { type: FailureType; message: string };
export type Evaluation = { ok: true; plan: RequestPlan } | ({ ok: false } & Refusal);

const refuse = (type: FailureType, message: string): Evaluation => ({ ok: false, type, message });

/** Decides whether a request may proceed and, if so, who must approve it. */
export function evaluateRequest(view: PolicyView, input: AccessRequestInput): Evaluation {
  const requester = view.identity(input.requester);
  if (!requester) return refuse(FailureType.InvalidInput, `unknown identity "${input.requester}"`);

  const entitlement = view.entitlement(input.entitlementId);
  if (!entitlement)
    return refuse(FailureType.InvalidInput, `unknown entitlement "${input.entitlementId}"`);

  if (!Number.isInteger(input.durationMs) || input.durationMs <= 0) {
    return refuse(
      FailureType.InvalidInput,
      'the duration must be a positive number of milliseconds',
    );
  }
  if (input.durationMs > entitlement.maxDuration) {
    return refuse(
      FailureType.PolicyViolation,
      `${formatDuration(input.durationMs)} is longer than the ${formatDuration(entitlement.maxDuration)} ` +
        `that ${entitlement.id} allows`,
    );
  }
  const textProblem = unsafeTextProblem(input.reason);
  if (textProblem || input.reason.length > MAX_TEXT) {
    return refuse(
      FailureType.InvalidInput,
      `the reason ${textProblem ?? `is longer than ${MAX_TEXT} characters`}`,
    );
  }
  if (entitlement.requireReason && input.reason.trim().length === 0) {
    return refuse(FailureType.PolicyViolation, `${entitlement.id} requires a reason`);
  }

  const { required, from } = entitlement.approval;
  const eligible = [...new Set(from.flatMap((group) => view.members(group)))].filter(
    (id) => id !== requester.id,
  );
  if (eligible.length < required) {
    return refuse(
      FailureType.PolicyViolation,
      `${entitlement.id} needs ${required} approvers besides the requester, but only ${eligible.length} are eligible`,
    );
  }

  return {
    ok: true,
    plan: {
      entitlementId: entitlement.id,
      systemId: entitlement.system,
      role: entitlement.role,
      login: view.loginOn(requester, entitlement.system),
      riskTier: entitlement.riskTier,
      durationMs: input.durationMs,
      required,
      approverGroups: from,
      eligibleApprovers: eligible,
      admins: view.members(view.policy.settings.adminGroup),
      approvalWindowMs: view.policy.settings.approvalWindow,
      expiryWarningMs: view.policy.settings.expiryWarning,
    },
  };
}
