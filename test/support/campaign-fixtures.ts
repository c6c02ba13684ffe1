import type { PolicyInput } from '../../domain/policy';
import type { NewReviewItem } from '../../store/campaigns';
import { targetSystem } from './policies';
import { superuserQuery } from './servers';

/**
 * The organisation the campaign tests review: two people under mia, carol with no manager (so the
 * fallback group reviews her), mia under sam, and a service account owned by alice. Roles and
 * logins are cluster-wide, so each test file passes its own `run` prefix.
 */
export function campaignFixture(run: string, settings: PolicyInput['settings'] = {}) {
  const login = (id: string) => `${run}_${id}`;
  const roles = { read: `${run}_read`, write: `${run}_write` };
  const logins = (id: string) => ({ logins: { target: login(id) } });
  const policy: PolicyInput = {
    version: 1,
    settings: { adminGroup: 'security', campaignFallbackGroup: 'fallback', ...settings },
    identities: [
      { id: 'alice', email: 'alice@example.test', manager: 'mia', ...logins('alice') },
      { id: 'bob', email: 'bob@example.test', manager: 'mia', ...logins('bob') },
      { id: 'carol', email: 'carol@example.test', ...logins('carol') },
      { id: 'mia', email: 'mia@example.test', manager: 'sam', ...logins('mia') },
      { id: 'sam', email: 'sam@example.test', ...logins('sam') },
      { id: 'rita', email: 'rita@example.test', ...logins('rita') },
      { id: 'svc-etl', kind: 'non-human', owner: 'alice', ...logins('svc-etl') },
    ],
    groups: [
      { id: 'security', members: ['sam'] },
      { id: 'fallback', members: ['rita'] },
      { id: 'leads', members: ['mia'] },
    ],
    systems: [targetSystem],
    entitlements: [
      {
        id: 'target/read',
        system: 'target',
        role: roles.read,
        riskTier: 'low',
        maxDuration: '1h',
        approval: { required: 0 },
      },
      {
        id: 'target/write',
        system: 'target',
        role: roles.write,
        riskTier: 'high',
        maxDuration: '1h',
        approval: { required: 1, from: ['security'] },
      },
    ],
  };
  /** Everyone but sam and rita reads; alice also writes. */
  const members = {
    [login('alice')]: [roles.read, roles.write],
    [login('bob')]: [roles.read],
    [login('carol')]: [roles.read],
    [login('mia')]: [roles.read],
    [login('svc-etl')]: [roles.read],
  };
  /** Puts back the memberships a test revoked, so tests run in any order. */
  async function restoreMemberships() {
    for (const [who, of] of Object.entries(members)) {
      for (const role of of)
        await superuserQuery(`GRANT "${role}" TO "${who}"`).catch(() => undefined);
    }
  }
  return { policy, login, roles, members, restoreMemberships };
}

/** An item as the collecting activity writes it, for tests that fill a campaign directly. */
export function reviewItem(
  fields: Partial<NewReviewItem> & Pick<NewReviewItem, 'reviewer' | 'identity'>,
): NewReviewItem {
  return {
    identity_kind: 'human',
    entitlement_id: 'target/read',
    system_id: 'target',
    role: 'reader',
    login: fields.identity,
    risk_tier: 'low',
    source: 'standing',
    last_granted_at: null,
    ...fields,
  };
}
