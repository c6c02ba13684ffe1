import { PolicyView } from '../../domain/access';
import { IncidentStatus } from '../../domain/incident';
import type { IncidentState } from '../../domain/incident';
import { timelineOf } from '../../domain/incident-report';
import { checkClose, checkRestoreApproval, restoreApproved } from '../../domain/incident-rules';
import { mayOpenIncident, planIncident } from '../../domain/incident-plan';
import { validatePolicy } from '../../domain/policy';

function view(): PolicyView {
  const result = validatePolicy({
    version: 1,
    identities: [
      { id: 'alice' },
      { id: 'dana' },
      { id: 'erin' },
      { id: 'olivia' },
      { id: 'svc', kind: 'non-human', owner: 'olivia', logins: { a: 'svc_login' } },
    ],
    groups: [
      { id: 'security', members: ['dana', 'erin', 'olivia'] },
      { id: 'responders', members: ['erin'] },
    ],
    systems: [
      { id: 'a', type: 'postgres', connection: 'env:A' },
      { id: 'b', type: 'postgres', connection: 'env:B' },
    ],
    credentials: [
      {
        id: 'b/svc',
        identity: 'svc',
        system: 'b',
        strategy: 'alternating-logins',
        logins: ['blue', 'green'],
        every: '7d',
      },
    ],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return new PolicyView(result.policy);
}

const plan = planIncident(view(), 'svc')!;

function state(changes: Partial<IncidentState> = {}): IncidentState {
  return {
    incidentId: 'i-1',
    identity: 'svc',
    owner: 'olivia',
    severity: 'high',
    reason: 'leak',
    reportedBy: 'dana',
    reportedAt: '2026-12-04T00:00:00.000Z',
    status: IncidentStatus.CONTAINED,
    requestsEnded: [],
    systems: [],
    credentials: [],
    approvals: [],
    retries: [],
    ...changes,
  };
}

describe('planIncident', () => {
  test('covers the login on every system and the logins its credentials rotate', () => {
    expect(plan.systems).toEqual([
      { systemId: 'a', logins: ['svc_login'], rotated: [] },
      // Only the credential's logins get a fresh secret; the identity's own loses its password.
      { systemId: 'b', logins: ['blue', 'green', 'svc'], rotated: ['blue', 'green'] },
    ]);
    expect(plan.credentials).toEqual(['b/svc']);
    expect(plan.tell).toEqual(['olivia', 'dana', 'erin']);
  });

  test('leaves the owner and the identity out of the restore approvers', () => {
    expect(plan.rules.approvers).toEqual(['dana', 'erin']);
  });

  test('lets admins and the incident group open incidents, and nobody else', () => {
    expect(mayOpenIncident(view(), 'erin')).toBe(true);
    expect(mayOpenIncident(view(), 'alice')).toBe(false);
  });
});

describe('checkRestoreApproval', () => {
  const check = (actor: string, s = state()) =>
    checkRestoreApproval(s, plan.rules, { actor })?.message;

  test('refuses the identity, its owner and people outside the incident group', () => {
    expect(check('svc')).toMatch(/own restore/);
    expect(check('olivia')).toMatch(/owns svc/);
    expect(check('alice')).toMatch(/not a member of security/);
  });

  test('refuses a second approval from the same person, and an incident not contained yet', () => {
    expect(check('dana', state({ approvals: [{ approver: 'dana', at: 'x' }] }))).toMatch(
      /already approved/,
    );
    expect(check('dana', state({ status: IncidentStatus.PARTIALLY_CONTAINED }))).toMatch(
      /not contained yet/,
    );
    expect(check('dana', state({ status: IncidentStatus.CLOSED }))).toMatch(/already closed/);
  });

  test('accepts a member of the group, and two distinct ones make the quorum', () => {
    expect(check('dana')).toBeUndefined();
    const one = state({ approvals: [{ approver: 'dana', at: 'x' }] });
    expect(restoreApproved(one, plan.rules)).toBe(false);
    expect(
      restoreApproved(
        state({ approvals: [...one.approvals, { approver: 'erin', at: 'y' }] }),
        plan.rules,
      ),
    ).toBe(true);
  });
});

describe('checkClose', () => {
  test('refuses the identity itself and a second close', () => {
    expect(checkClose(state(), plan.rules, { actor: 'svc' })?.message).toMatch(/own incident/);
    expect(checkClose(state(), plan.rules, { actor: 'erin' }, 'dana')?.message).toMatch(
      /being closed by dana/,
    );
    expect(checkClose(state(), plan.rules, { actor: 'erin' })).toBeUndefined();
  });
});

describe('timelineOf', () => {
  test('lists what happened in order of time', () => {
    const timeline = timelineOf(
      state({
        quarantinedAt: '2026-12-04T00:00:00.100Z',
        containedAt: '2026-12-04T00:00:01.000Z',
        approvals: [{ approver: 'dana', at: '2026-12-04T00:10:00.000Z' }],
      }),
    );
    expect(timeline.map((e) => e.what)).toEqual([
      'reported by dana (high): leak',
      'quarantined in keyward; 0 API tokens revoked',
      'contained everywhere',
      'restore approved by dana',
    ]);
  });
});
