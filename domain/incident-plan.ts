import type { PolicyView } from './access';
import type { IncidentPlan } from './incident';
import { credentialLogins, loginOf } from './policy';

/**
 * Everything an identity can reach, read from the policy when its incident opens: on every
 * system its own login and the logins its credentials rotate, and the credentials themselves.
 */
export function planIncident(view: PolicyView, identityId: string): IncidentPlan | undefined {
  const identity = view.identity(identityId);
  if (!identity) return undefined;
  const { settings } = view.policy;
  const credentials = view.policy.credentials.filter((c) => c.identity === identity.id);
  const systems = view.policy.systems.map((system) => {
    const own = loginOf(identity, system.id);
    const rotated = new Set<string>();
    for (const credential of credentials.filter((c) => c.system === system.id)) {
      for (const login of credentialLogins(credential, identity)) rotated.add(login);
    }
    return {
      systemId: system.id,
      logins: [...new Set([own, ...rotated])].sort(),
      rotated: [...rotated].sort(),
    };
  });
  const group = view.members(settings.incidentGroup);
  return {
    owner: identity.owner,
    systems,
    credentials: credentials.map((c) => c.id),
    tell: [...new Set([...(identity.owner ? [identity.owner] : []), ...group])],
    ...(settings.incidentChannel && { channel: settings.incidentChannel }),
    rules: {
      incidentGroup: settings.incidentGroup,
      approvers: group.filter((id) => id !== identity.id && id !== identity.owner),
      closers: [...new Set([...view.members(settings.adminGroup), ...group])],
      required: 2,
    },
    alertAfterMs: settings.incidentAlertAfter,
  };
}

/** Admins and the incident group may open incidents. */
export function mayOpenIncident(view: PolicyView, who: string): boolean {
  return view.isAdmin(who) || view.members(view.policy.settings.incidentGroup).includes(who);
}
