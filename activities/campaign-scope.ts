import type { PolicyView } from '../domain/access';
import type { CampaignScope, Entitlement, Identity } from '../domain/policy';
import type { ConnectorRegistry } from '../integrations/connectors/registry';
import { latestGrants } from '../store/campaigns';
import type { NewReviewItem } from '../store/campaigns';
import type { Db } from '../store/db';

/** Whether an entitlement is in scope; an empty filter list lets everything through. */
export function inScope(entitlement: Entitlement, scope: CampaignScope): boolean {
  const passes = <T>(list: T[], value: T) => list.length === 0 || list.includes(value);
  return (
    passes(scope.systems, entitlement.system) &&
    passes(scope.entitlements, entitlement.id) &&
    passes(scope.riskTiers, entitlement.riskTier)
  );
}

/**
 * Every membership in scope as the targets report it, so standing access that keyward never
 * granted is reviewed too. A membership keyward granted and has not revoked is marked as a grant.
 * Members the policy does not know are kept under their login, as non-human identities: an
 * unknown account with access is exactly what a review must surface.
 */
export async function collectItems(
  db: Db,
  connectors: Pick<ConnectorRegistry, 'get'>,
  view: PolicyView,
  scope: CampaignScope,
): Promise<Omit<NewReviewItem, 'reviewer'>[]> {
  const items: Omit<NewReviewItem, 'reviewer'>[] = [];
  for (const entitlement of view.policy.entitlements.filter((e) => inScope(e, scope))) {
    const byLogin = new Map<string, Identity>();
    for (const identity of view.policy.identities)
      byLogin.set(view.loginOn(identity, entitlement.system), identity);
    const members = await connectors.get(entitlement.system).listMembers(entitlement.role);
    const grants = await latestGrants(db, entitlement.system, entitlement.role);
    for (const login of members) {
      const identity = byLogin.get(login);
      const kind = identity?.kind ?? 'non-human';
      if (scope.identityKinds.length > 0 && !scope.identityKinds.includes(kind)) continue;
      const grant = grants.get(login);
      items.push({
        identity: identity?.id ?? login,
        identity_kind: kind,
        entitlement_id: entitlement.id,
        system_id: entitlement.system,
        role: entitlement.role,
        login,
        risk_tier: entitlement.riskTier,
        source: grant?.live ? 'grant' : 'standing',
        last_granted_at: grant?.at ?? null,
      });
    }
  }
  return items;
}
